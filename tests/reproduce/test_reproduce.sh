#!/usr/bin/env bash
# End-to-end test of `jatp reproduce --preset ci` (issue 8): runs the whole pipeline (TRADES target,
# APE-G / HGD / NRP on oblivious and full examples, JATP, evaluation of None and every defense, reports)
# on the tiny preset and checks that every output file exists, the JSON parses, every accuracy is finite
# and in [0,1], the CSV has the expected rows and the PNGs are PNGs. Plus usage errors.
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
files="table.md table.csv table.json sanity.txt reproduce.log T.onnx P_jatp.onnx fig4a_fooling.png"
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
for m in T P_jatp P_hgd_full; do
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
print("cells", n_cells)
PY
)
if [ $? = 0 ]; then ok "table.json / table.csv / table.md contents ($o)"; else fail "table.json / table.csv / table.md contents" "check failed" "$o"; fi
grep -q "^S1 " "$dir/sanity.txt" && grep -q "overall:" "$dir/sanity.txt" && ok "sanity report" || fail "sanity report" "no checks in sanity.txt" "$(cat "$dir/sanity.txt")"
finish
