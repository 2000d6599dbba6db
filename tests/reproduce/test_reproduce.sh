#!/usr/bin/env bash
# End-to-end test of `jatp reproduce --preset ci` (issue 8): runs the whole pipeline (TRADES target,
# the shipped Standard-AT and MART targets, a shared identity warm-up, APE-G / HGD / NRP on oblivious
# and full examples, JATP, JATP', evaluation of None and every defense, the transfer table, reports)
# on the tiny preset and checks that every output file exists, the JSON parses, every accuracy is finite
# and in [0,1], the CSV has the expected rows and the PNGs are PNGs. Plus usage errors and the paper
# preset's plan (--dry-run).
#
#   tests/reproduce/test_reproduce.sh [BUILD_DIR]      (default: build)
# Skips (counted) when Debian's Fashion-MNIST is missing, unless JATP_REQUIRE_FMNIST=1 (then FAIL).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
jatp="$build/jatp"
if [ -n "${JATP_PYTHON:-}" ]; then py=$JATP_PYTHON; elif [ -x "$root/.venv/bin/python" ]; then py="$root/.venv/bin/python"; else py=/usr/bin/python3; fi
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "ok $1"; }
skip() { skipped=$((skipped + 1)); echo "skip $1: $2"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL $1: $2"
    [ -n "${3:-}" ] && printf '%s\n' "$3" | tail -n 20 | sed 's/^/    /'
    return 0
}
finish() {
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" = 0 ]
    exit $?
}
work=$(mktemp -d "${TMPDIR:-/tmp}/jatp-reproduce.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -x "$jatp" ]; then
    fail "binary" "$jatp not found (build first)"
    finish
fi

# usage errors (no data needed)
out=$("$jatp" reproduce --preset nope --out "$work/x" 2>&1)
rc=$?
if [ "$rc" = 2 ] && grep -q "unknown preset" <<<"$out"; then ok "unknown preset refused"; else fail "unknown preset refused" "exit $rc" "$out"; fi
out=$("$jatp" reproduce --preset paper --out "$work/x" 2>&1)
rc=$?
if [ "$rc" = 2 ] && grep -q -- "--data" <<<"$out"; then ok "paper preset needs --data"; else fail "paper preset needs --data" "exit $rc" "$out"; fi
out=$("$jatp" reproduce --list-presets 2>&1)
rc=$?
if [ "$rc" = 0 ] && grep -q "^ci " <<<"$out" && grep -q "^paper " <<<"$out"; then ok "--list-presets"; else fail "--list-presets" "exit $rc" "$out"; fi

out=$("$jatp" reproduce --models "$work/nomodels" --out "$work/x" 2>&1)
rc=$?
if [ "$rc" = 2 ] && grep -q "nomodels/fmnist_trades_w8.onnx" <<<"$out"; then ok "missing shipped model named"; else fail "missing shipped model named" "exit $rc" "$out"; fi

# the paper preset's plan: four targets (TRADES; Standard, MMA, MART for the transfer table), eight
# denoisers (JATP' with --joint), 8 + 3 x 6 evaluations; nothing written
out=$("$jatp" reproduce --preset paper --data "$work/cifar" --out "$work/dry" --dry-run 2>/dev/null)
rc=$?
nt=$(grep -c '^\$ jatp train target' <<<"$out")
nd=$(grep -c '^\$ jatp train denoiser' <<<"$out")
ne=$(grep -c '^\$ jatp eval' <<<"$out")
recipes=$(grep '^\$ jatp train target' <<<"$out" | sed 's/.*--recipe \([a-z]*\).*/\1/' | tr '\n' ' ')
if [ "$rc" = 0 ] && [ "$nt" = 4 ] && [ "$nd" = 8 ] && [ "$ne" = 26 ] && [ "$recipes" = "trades at mma mart " ] &&
    grep -q -- '--joint .*--out-target' <<<"$out" && grep -q -- '--data-dir '"$work"'/cifar' <<<"$out" &&
    [ ! -e "$work/dry" ]; then
    ok "paper preset plan (--dry-run)"
else
    fail "paper preset plan (--dry-run)" "exit $rc, $nt targets ($recipes), $nd denoisers, $ne evals" "$out"
fi

fm=/usr/share/datasets/fashion-mnist
if [ ! -f "$fm/train-images-idx3-ubyte.gz" ] && [ ! -f "$fm/train-images-idx3-ubyte" ]; then
    if [ "${JATP_REQUIRE_FMNIST:-0}" = 1 ]; then
        fail "reproduce ci" "Fashion-MNIST missing in $fm (JATP_REQUIRE_FMNIST=1)"
    else
        skip "reproduce ci" "Fashion-MNIST missing in $fm (apt-get install dataset-fashion-mnist)"
    fi
    finish
fi

dir="$work/out"
t0=$SECONDS
log=$("$jatp" reproduce --preset ci --out "$dir" --threads "${JATP_TEST_THREADS:-2}" 2>&1)
rc=$?
dt=$((SECONDS - t0))
if [ "$rc" != 0 ]; then
    fail "reproduce ci runs" "exit $rc after ${dt}s" "$log"
    finish
fi
ok "reproduce ci runs (${dt}s)"
grep -q "stage 1/" <<<"$log" && grep -q "ETA" <<<"$log" && ok "progress lines" || fail "progress lines" "no 'stage k/n ... ETA' lines" "$log"
grep -q "^None " <<<"$log" && grep -q "^JATP " <<<"$log" && ok "terminal table" || fail "terminal table" "no None/JATP rows on stdout" "$log"

rows="none apeg_oblivious apeg_full hgd_oblivious hgd_full nrp_oblivious nrp_full"
files="table.md table.csv table.json transfer.md transfer.csv transfer.json sanity.txt reproduce.log T.onnx T_at.onnx
       T_mart.onnx P0_warmup.onnx P_jatp.onnx P_jatp_joint.onnx T_joint.onnx fig4a_fooling.png"
for r in $rows; do [ "$r" != none ] && files="$files P_$r.onnx"; done
missing=""
for f in $files; do [ -s "$dir/$f" ] || missing="$missing $f"; done
if [ -z "$missing" ]; then ok "output files exist"; else fail "output files exist" "missing or empty:$missing" "$(ls -la "$dir")"; fi

# PNG signature of every figure (fig1 per attack and fig4a)
n_png=0 bad_png=""
for f in "$dir"/fig*.png; do
    [ -e "$f" ] || continue
    n_png=$((n_png + 1))
    sig=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
    [ "$sig" = 89504e470d0a1a0a ] || bad_png="$bad_png $(basename "$f")"
done
if [ "$n_png" -ge 6 ] && [ -z "$bad_png" ]; then ok "PNG figures ($n_png)"; else fail "PNG figures" "$n_png found, bad:$bad_png"; fi

# ONNX models load
for m in T P_jatp P_hgd_full P_jatp_joint T_joint; do
    o=$("$jatp" inspect "$dir/$m.onnx" 2>&1) && ok "$m.onnx loads" || fail "$m.onnx loads" "jatp inspect failed" "$o"
done

# JSON and CSV contents
o=$("$py" - "$dir" <<'PY' 2>&1
import csv, json, math, sys
d = sys.argv[1]
j = json.load(open(d + "/table.json"))
assert j["schema"] == "jatp.reproduce/1", j["schema"]
assert j["preset"] == "ci" and "settings" in j and "seed" in j
want_att = ["pgd", "pgd-dlr", "aa-smoke", "fwa", "ti-bim", "pgd-bpda"]
assert j["attacks"] == want_att, j["attacks"]
labels = [r["defense"] for r in j["rows"]]
want_rows = ["None", "APE-G (oblivious)", "APE-G (full)", "HGD (oblivious)", "HGD (full)", "NRP (oblivious)",
             "NRP (full)", "JATP"]
assert labels == want_rows, labels
def chk(what, e):
    a = e["accuracy"]; lo, hi = e["ci95"]
    assert isinstance(a, (int, float)) and math.isfinite(a) and 0 <= a <= 1, (what, a)
    assert 0 <= lo <= a + 1e-9 and a - 1e-9 <= hi <= 1, (what, lo, a, hi)
    assert e["n"] > 0 and "seed" in e, what
n_cells = 0
for r in j["rows"]:
    chk(r["defense"] + " natural", r["natural"])
    for k, e in r["robust"].items():
        chk(r["defense"] + " " + k, e)
        assert e["settings"].get("name") == k.split("#")[0], (k, e["settings"])
        assert "eps" in e["settings"], (k, e["settings"])
        fr = e["fooling_rate"]
        assert fr is None or (math.isfinite(fr) and 0 <= fr <= 1), (k, fr)
        if fr is not None:
            flo, fhi = e["fooling_ci95"]
            assert 0 <= flo <= fr + 1e-9 and fr - 1e-9 <= fhi <= 1, (k, flo, fr, fhi)
            # the fooling rate is a share of the clean-correct examples
            assert e["fooling_n"] == round(r["natural"]["accuracy"] * r["natural"]["n"]), (k, e["fooling_n"])
        assert e["accuracy"] <= r["natural"]["accuracy"] + 1e-9, (r["defense"], k)
        n_cells += 1
    want = [a for a in want_att if r["method"] != "none" or "bpda" not in a]
    assert sorted(r["robust"]) == sorted(want), (r["defense"], sorted(r["robust"]))
assert "sanity_checks_jatp" in j and len(j["sanity_checks_jatp"]) >= 5
rows = list(csv.DictReader(open(d + "/table.csv")))
# None: natural + 5 attacks (no BPDA); each of the 7 defenses: natural + 6
assert len(rows) == 6 + 7 * 7, len(rows)
for r in rows:
    a = float(r["accuracy"])
    assert math.isfinite(a) and 0 <= a <= 1, r
    assert float(r["ci95_lo"]) <= a + 1e-9 and a - 1e-9 <= float(r["ci95_hi"]), r
    assert int(r["n"]) > 0 and r["seed"] == "0", r
    if r["attack"] != "natural":
        assert json.loads(r["settings"])["name"] == r["attack"], r
md = open(d + "/table.md").read()
assert "| None |" in md and "| JATP |" in md, md[:400]
# the transfer table: None, the oblivious baselines, JATP and JATP' in front of Standard AT and MART
t = json.load(open(d + "/transfer.json"))
assert t["schema"] == "jatp.reproduce.transfer/1", t["schema"]
assert [x["target"] for x in t["targets"]] == ["Standard AT", "MART"], [x["target"] for x in t["targets"]]
for x in t["targets"]:
    assert x["attacks"] == ["pgd", "pgd-dlr", "fwa"], x["attacks"]
    labels = [r["defense"] for r in x["rows"]]
    assert labels == ["None", "APE-G (oblivious)", "HGD (oblivious)", "NRP (oblivious)", "JATP", "JATP'"], labels
    for r in x["rows"]:
        chk(x["target"] + " " + r["defense"] + " natural", r["natural"])
        assert sorted(r["robust"]) == ["fwa", "pgd", "pgd-dlr"], r["robust"].keys()
        for k, e in r["robust"].items():
            chk(x["target"] + " " + r["defense"] + " " + k, e)
            n_cells += 1
trows = list(csv.DictReader(open(d + "/transfer.csv")))
assert len(trows) == 2 * 6 * 4, len(trows)
assert {r["target"] for r in trows} == {"Standard AT", "MART"}
tmd = open(d + "/transfer.md").read()
assert "| JATP' |" in tmd and "## Target: MART" in tmd, tmd[:400]
print("cells", n_cells)
PY
)
if [ $? = 0 ]; then ok "table.json / table.csv / table.md contents ($o)"; else fail "table.json / table.csv / table.md contents" "check failed" "$o"; fi
# the claims script: runs on the output (exit 0 or 1, never 2), and decides right on doctored tables
o=$(/usr/bin/python3 "$root/benchmarks/check_claims.py" "$dir" --json "$work/claims.json" 2>&1)
rc=$?
if { [ "$rc" = 0 ] || [ "$rc" = 1 ]; } && [ "$(grep -c '^C[1-5] ' <<<"$o")" = 5 ] && [ -s "$work/claims.json" ]; then
    ok "check_claims.py runs (exit $rc)"
else
    fail "check_claims.py runs" "exit $rc" "$o"
fi
o=$("$py" - "$dir" "$work" "$root/benchmarks/check_claims.py" <<'PY' 2>&1
import json, os, subprocess, sys
d, w, script = sys.argv[1], sys.argv[2], sys.argv[3]
def run(mod):
    j = json.load(open(d + "/table.json"))
    rows = {r["defense"]: r for r in j["rows"]}
    mod(rows)
    t = os.path.join(w, "doctored")
    os.makedirs(t, exist_ok=True)
    json.dump(j, open(t + "/table.json", "w"))
    return subprocess.run(["/usr/bin/python3", script, t], capture_output=True, text=True).returncode
def good(rows):
    j, n = rows["JATP"], rows["None"]
    j["natural"] = dict(n["natural"])
    for k, e in j["robust"].items():
        e["accuracy"], e["ci95"] = 1.0, [0.9, 1.0]
def bad(rows):
    good(rows)
    rows["JATP"]["robust"]["pgd"]["accuracy"] = 0.0
assert run(good) == 0, "all claims hold on a doctored table: exit 0 expected"
assert run(bad) == 1, "JATP at 0% under PGD: exit 1 expected"
print("decides")
PY
)
[ $? = 0 ] && ok "check_claims.py decides ($o)" || fail "check_claims.py decides" "wrong exit status" "$o"
grep -q "^S1 " "$dir/sanity.txt" && grep -q "overall:" "$dir/sanity.txt" && ok "sanity report" || fail "sanity report" "no checks in sanity.txt" "$(cat "$dir/sanity.txt")"
finish
