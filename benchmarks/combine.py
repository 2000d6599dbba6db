#!/usr/bin/env python3
"""Joins `jatp bench --json` and `benchmarks/peers/torch_bench.py --json` files (schema jatp.bench/2) on
(op, shape, pass) and prints one table with the ratio peer time / jatp time (> 1: jatp is faster).

    benchmarks/combine.py OUT/jatp-*.json OUT/torch-*.json [--markdown FILE] [--time best|median]

A row present in several files (repeated runs of run_all.sh) keeps its run with the lowest best time.
The ratio uses the best (minimum) time of each side by default: on a machine shared with other
processes the best run is the one least disturbed (--time median for medians). GFLOP/s and % of peak
are jatp's FLOP count (the ops' cost functions) over each side's time, against jatp's measured peak.
"""
import argparse
import json
import sys


def load(paths):
    jatp, peers, header = {}, {}, {}
    order = []
    for p in paths:
        with open(p) as f:
            d = json.load(f)
        side = d.get("peer") or "jatp"
        if side == "jatp":
            header = d
        for r in d["rows"]:
            key = (r["op"], r["shape"], r["pass"])
            d_side = jatp if side == "jatp" else peers
            if side == "jatp" and key not in jatp:
                order.append(key)
            # the same row in several files (repeated runs): keep the least disturbed one
            if key not in d_side or r["us_best"] < d_side[key]["us_best"]:
                d_side[key] = r
    return header, order, jatp, peers


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    ap.add_argument("--time", choices=["best", "median"], default="best")
    a = ap.parse_args()
    header, order, jatp, peers = load(a.files)
    k = "us_best" if a.time == "best" else "us_median"
    peak = header.get("peak_gflops") or 0
    rows = []
    for key in order:
        j = jatp[key]
        t = peers.get(key)
        flop = j["flop"]
        jt = j[k]
        tt = t[k] if t else None
        rows.append(dict(op=key[0], shape=key[1], pas=key[2], jt=jt, jm=j["us_median"], tt=tt,
                         tm=t["us_median"] if t else None, ratio=tt / jt if tt else None,
                         jg=flop / jt / 1e3 if flop else 0, tg=flop / tt / 1e3 if flop and tt else 0,
                         pct=100 * flop / jt / 1e3 / peak if flop and peak else 0))
    if header:
        print("jatp %s  %s  threads %s\ncpu  %s\nblas %s\npeak %s" % (header.get("version"), header.get("date"),
                                                                    header.get("threads"), header.get("cpu"),
                                                                    header.get("blas"), header.get("peak_method")))
    print("times: %s us (median in parentheses); ratio = torch / jatp on %s times (> 1: jatp faster)" % (a.time, a.time))
    wop = max([2] + [len(r["op"]) for r in rows])
    wsh = max([5] + [len(r["shape"]) for r in rows])

    def f(x):
        return "%.1f" % x if x is not None else "n/a"
    print("%-*s  %-*s  %-10s %22s %22s %8s %9s %9s %6s" % (wop, "op", wsh, "shape", "pass", "jatp us", "torch us",
                                                            "ratio", "jatp GF/s", "torch GF/s", "%peak"))
    for r in rows:
        print("%-*s  %-*s  %-10s %10s (%9s) %10s (%9s) %8s %9.1f %9.1f %6.1f" % (
            wop, r["op"], wsh, r["shape"], r["pas"], f(r["jt"]), f(r["jm"]), f(r["tt"]), f(r["tm"]),
            "%.2f" % r["ratio"] if r["ratio"] else "n/a", r["jg"], r["tg"], r["pct"]))
    if a.markdown:
        lines = ["| op | shape | pass | jatp us %s (median) | torch us %s (median) | torch / jatp | jatp GFLOP/s | "
                 "torch GFLOP/s | jatp %% of peak |" % (a.time, a.time),
                 "|---|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            lines.append("| %s | `%s` | %s | %s (%s) | %s (%s) | %s | %.1f | %.1f | %.1f |" % (
                r["op"], r["shape"], r["pas"], f(r["jt"]), f(r["jm"]), f(r["tt"]), f(r["tm"]),
                "%.2f" % r["ratio"] if r["ratio"] else "n/a", r["jg"], r["tg"], r["pct"]))
        with open(a.markdown, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
