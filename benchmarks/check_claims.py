#!/usr/bin/env python3
"""Checks the paper's claims on the output of `jatp reproduce` (issue 8; not a timed test).

    /usr/bin/python3 benchmarks/check_claims.py RESULTS_DIR [--json claims.json]

The claims of the issue, on table.json (the TRADES target):
  C1  JATP's robust accuracy under PGD is higher than that of every baseline trained on full examples
  C2  the same under AutoAttack (the table's aa* column)
  C3  JATP under PGD is within 3 points of the undefended target, or above it
  C4  the same under AutoAttack
  C5  JATP's natural accuracy is within 2 points of the undefended target's, or above it
and, reported but not required, the paper's reproduction criteria (models.md section 6): the baselines
show the robustness-degradation effect (PGD at least 5 points below None), full examples help the
baselines (full >= oblivious under PGD), the paper's PGD ordering JATP > APE-G > NRP > HGD (oblivious
baselines), and from transfer.json JATP above every baseline in front of each other target.

Every comparison prints both accuracies with their 95% Wilson intervals and says whether the intervals
overlap (then the ordering is within the evaluation noise of N test points). Exit status: 0 when
C1-C5 hold, 1 when one fails, 2 on unreadable input.
"""
import argparse
import json
import math
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"check_claims: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)


def rows_by_label(rows):
    return {r["defense"]: r for r in rows}


def cell(row, attack):
    """(accuracy %, lo %, hi %) of a row for 'natural' or an attack column; None when missing."""
    if row is None:
        return None
    e = row["natural"] if attack == "natural" else row["robust"].get(attack)
    if e is None or e.get("accuracy") is None:
        return None
    lo, hi = e["ci95"]
    return (100 * e["accuracy"], 100 * lo, 100 * hi)


def fmt(c):
    return "-" if c is None else f"{c[0]:.1f} [{c[1]:.1f}, {c[2]:.1f}]"


def overlap(a, b):
    return a is not None and b is not None and not (a[2] < b[1] or b[2] < a[1])


class Claims:
    def __init__(self):
        self.items = []

    def add(self, cid, required, text, holds, detail):
        self.items.append({"id": cid, "required": required, "claim": text, "holds": bool(holds), "detail": detail})

    def print(self):
        w = max(len(i["claim"]) for i in self.items)
        for i in self.items:
            tag = ("HOLDS" if i["holds"] else "FAILS") if i["required"] else ("yes" if i["holds"] else "no")
            print(f"{i['id']:<4} {tag:<5}  {i['claim']:<{w}}  {i['detail']}")


def beats_all(claims, cid, rows, attack, others, name):
    j = cell(rows.get("JATP"), attack)
    parts, ok, have = [], True, 0
    for o in others:
        c = cell(rows.get(o), attack)
        if c is None:
            continue
        have += 1
        ok = ok and j is not None and j[0] > c[0]
        parts.append(f"{o} {fmt(c)}{' (overlaps)' if overlap(j, c) else ''}")
    detail = f"JATP {fmt(j)} vs " + "; ".join(parts) if parts else "no baseline rows"
    claims.add(cid, True, f"JATP > every full-example baseline under {name}", ok and have > 0 and j is not None, detail)


def within(claims, cid, rows, attack, name, tol):
    j, n = cell(rows.get("JATP"), attack), cell(rows.get("None"), attack)
    ok = j is not None and n is not None and j[0] >= n[0] - tol
    d = "" if j is None or n is None else f" (difference {j[0] - n[0]:+.1f})"
    claims.add(cid, True, f"JATP within {tol:g} points of None (or above) under {name}", ok,
               f"JATP {fmt(j)}, None {fmt(n)}{d}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="the --out folder of jatp reproduce")
    ap.add_argument("--json", help="also write the claims as JSON here")
    a = ap.parse_args()
    t1 = load(os.path.join(a.results, "table.json"))
    rows = rows_by_label(t1["rows"])
    attacks = t1["attacks"]
    aa = next((k for k in attacks if k.startswith("aa")), None)
    full = [l for l in rows if rows[l].get("examples") == "full" and rows[l]["method"] in ("apeg", "hgd", "nrp")]
    obl = [l for l in rows if rows[l].get("examples") == "oblivious"]
    print(f"jatp reproduce, preset {t1['preset']} ({t1['dataset']}, seed {t1['seed']}, "
          f"N = {rows['None']['natural']['n'] if 'None' in rows else '?'}): accuracies in % [95% Wilson interval]\n")
    c = Claims()
    beats_all(c, "C1", rows, "pgd", full, "PGD")
    if aa:
        beats_all(c, "C2", rows, aa, full, f"AutoAttack ({aa})")
    else:
        c.add("C2", True, "JATP > every full-example baseline under AutoAttack", False, "no AutoAttack column")
    within(c, "C3", rows, "pgd", "PGD", 3)
    if aa:
        within(c, "C4", rows, aa, f"AutoAttack ({aa})", 3)
    else:
        c.add("C4", True, "JATP within 3 points of None under AutoAttack", False, "no AutoAttack column")
    within(c, "C5", rows, "natural", "natural accuracy", 2)
    # the paper's reproduction criteria, reported only
    n_pgd = cell(rows.get("None"), "pgd")
    for l in obl + full:
        b = cell(rows[l], "pgd")
        if b is not None and n_pgd is not None:
            c.add("R1", False, f"degradation: {l} PGD >= 5 points below None", b[0] <= n_pgd[0] - 5,
                  f"{fmt(b)} vs None {fmt(n_pgd)} ({b[0] - n_pgd[0]:+.1f})")
    for m, name in (("apeg", "APE-G"), ("hgd", "HGD"), ("nrp", "NRP")):
        o, f = cell(rows.get(f"{name} (oblivious)"), "pgd"), cell(rows.get(f"{name} (full)"), "pgd")
        if o is not None and f is not None:
            c.add("R2", False, f"full examples help {name} under PGD", f[0] >= o[0],
                  f"full {fmt(f)} vs oblivious {fmt(o)}{' (overlaps)' if overlap(f, o) else ''}")
    order = ["JATP", "APE-G (oblivious)", "NRP (oblivious)", "HGD (oblivious)"]
    vals = [cell(rows.get(l), "pgd") for l in order]
    if all(v is not None for v in vals):
        c.add("R3", False, "PGD ordering JATP > APE-G > NRP > HGD (paper, oblivious baselines)",
              all(vals[i][0] > vals[i + 1][0] for i in range(3)),
              ", ".join(f"{l.split(' ')[0]} {v[0]:.1f}" for l, v in zip(order, vals)))
    tpath = os.path.join(a.results, "transfer.json")
    if os.path.exists(tpath):
        tr = load(tpath)
        for tgt in tr["targets"]:
            trows = rows_by_label(tgt["rows"])
            for k in tgt["attacks"]:
                j = cell(trows.get("JATP"), k)
                others = [(l, cell(trows[l], k)) for l in trows if trows[l]["method"] in ("apeg", "hgd", "nrp")]
                others = [(l, v) for l, v in others if v is not None]
                if j is None or not others:
                    continue
                jp = cell(trows.get("JATP'"), k)
                c.add("T1", False, f"transfer to {tgt['target']}: JATP > every baseline under {k}",
                      all(j[0] > v[0] for _, v in others),
                      f"JATP {j[0]:.1f}, " + ", ".join(f"{l.split(' ')[0]} {v[0]:.1f}" for l, v in others) +
                      (f", JATP' {jp[0]:.1f}" if jp else "") +
                      f", None {fmt(cell(trows.get('None'), k))}")
    c.print()
    req = [i for i in c.items if i["required"]]
    held = sum(i["holds"] for i in req)
    print(f"\n{held} of {len(req)} claims of the issue hold "
          "(an ordering whose intervals overlap is within the evaluation noise)")
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"results": os.path.abspath(a.results), "preset": t1["preset"], "claims": c.items}, f, indent=1)
        os.replace(tmp, a.json)
    return 0 if held == len(req) else 1


if __name__ == "__main__":
    sys.exit(main())
