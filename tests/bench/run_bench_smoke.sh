#!/usr/bin/env bash
# Smoke test of the `jatp bench` CLI (not a timing test: every run is --min-time 0 --min-runs 1).
# Each case runs jatp bench on a tiny model, op or case file and checks the exit status and that the
# --json output parses with schema jatp.bench/2 and the expected (op, pass) rows with positive times;
# plus the CSV form, every benchmarks/cases/*.txt file (parsed and run once) and usage errors.
#
#   tests/bench/run_bench_smoke.sh [BUILD_DIR]      (default: build)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
jatp="$build/jatp"
if [ -n "${JATP_PYTHON:-}" ]; then py=$JATP_PYTHON; elif [ -x "$root/.venv/bin/python" ]; then py="$root/.venv/bin/python"; else py=/usr/bin/python3; fi
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "ok $1"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL $1: $2"
    [ -n "${3:-}" ] && printf '%s\n' "$3" | tail -n 15 | sed 's/^/    /'
    return 0
}
work=$(mktemp -d "${TMPDIR:-/tmp}/jatp-bench-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
quick=(--min-time 0 --min-runs 1 --warmup 0 --threads 2 --no-peak)

# check_json NAME FILE "op:pass|op:pass|..." : rows in this order, times > 0
check_json() {
    "$py" - "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "jatp.bench/2", d["schema"]
for k in ("threads", "cpu", "blas", "gemm", "peak_method", "rows"):
    assert k in d, "header key %s missing" % k
want = [tuple(w.strip().rsplit(":", 1)) for w in sys.argv[2].split("|")]
got = [(r["op"], r["pass"]) for r in d["rows"]]
assert got == want, "rows %s, expected %s" % (got, want)
for r in d["rows"]:
    for k in ("shape", "backend", "algo", "us_median", "us_p10", "us_p90", "gflops", "gbps", "pct_peak", "runs"):
        assert k in r, "row key %s missing" % k
    assert r["us_median"] > 0 and r["us_p10"] <= r["us_median"] <= r["us_p90"], r
    assert r["runs"] >= 1
PY
}

# case NAME "expected rows" ARGS... (jatp bench ARGS --json FILE)
case_() {
    local name=$1 want=$2
    shift 2
    if [ ! -x "$jatp" ]; then
        fail "$name" "$jatp not found (build first)"
        return
    fi
    local js="$work/$name.json" log
    log=$("$jatp" bench "$@" "${quick[@]}" --json "$js" 2>&1)
    local rc=$?
    if [ $rc != 0 ]; then
        fail "$name" "exit $rc" "$log"
        return
    fi
    local chk
    if chk=$(check_json "$name" "$js" "$want" 2>&1); then ok "$name"; else fail "$name" "bad JSON" "$chk"; fi
}

case_ op_conv "Conv:fwd|Conv:bwd_data|Conv:bwd_filter" \
    --op Conv --shape 2,3,8,8:4,3,3,3:4 --attrs "strides=1,1 pads=1,1,1,1" --pass fwd,bwd_data,bwd_filter
case_ op_conv_bwd_all "Conv:bwd" --op Conv --shape 2,3,8,8:4,3,3,3 --attrs "strides=2,2" --pass bwd
case_ op_gemm_mnk "Gemm:fwd|Gemm:bwd_data|Gemm:bwd_filter" --op Gemm --shape 8,12,16
case_ op_relu "Relu:fwd|Relu:bwd_data" --op Relu --shape 2,3,4,4
case_ op_leakyrelu "LeakyRelu:fwd" --op LeakyRelu --shape 2,3,4,4 --attrs alpha=0.2 --pass fwd
case_ op_add "Add:fwd|Add:bwd" --op Add --shape 2,3,4,4:2,3,4,4 --pass fwd,bwd
case_ op_reducemean "ReduceMean:fwd|ReduceMean:bwd_data" --op ReduceMean --shape 2,3,4,4 --attrs "axes=2,3 keepdims=1"
case_ op_reducesum "ReduceSum:fwd|ReduceSum:bwd_data" --op ReduceSum --shape 2,3,4,4 --attrs "axes=1 keepdims=0"
case_ op_batchnorm "BatchNormalization:fwd|BatchNormalization:bwd" --op BatchNormalization --shape 2,3,4,4 --pass fwd,bwd
printf '# comment line\n\nConv 1,2,5,5:3,2,3,3 pads=1,1,1,1  pass=fwd   # trailing comment\nGemm 4,4,4 pass=bwd_filter\nRelu 7\n' >"$work/small.txt"
case_ cases_file "Conv:fwd|Gemm:bwd_filter|Relu:fwd|Relu:bwd_data" --cases "$work/small.txt"
case_ model_builder_passes "resnet10-fm-w8:fwd|resnet10-fm-w8:fwdbwd|resnet10-fm-w8:step" \
    --model resnet10-fm-w8 --batch 2 --pass fwd,fwdbwd,step
case_ model_builder_config "rrdb-s:c=1,h=12,w=12:fwd|rrdb-s:c=1,h=12,w=12:step" \
    --model rrdb-s:c=1,h=12,w=12 --batch 2 --pass fwd,step
demo="$root/models/onnx/fmnist_cnn.onnx"
if [ -f "$demo" ]; then
    case_ model_onnx_passes "$demo:fwd|$demo:fwdbwd|$demo:step" "$demo" --batch 2 --pass fwd,fwdbwd,step
else
    skipped=$((skipped + 1))
    echo "skip model_onnx_passes: $demo missing"
fi
case_ jatp_step "jatp-step P=rrdb-s:nf=8,gc=4 T=resnet10-fm-w8:step" \
    --jatp-step resnet10-fm-w8 --denoiser rrdb-s:nf=8,gc=4 --batch 2

# CSV next to JSON, profile output
if [ -x "$jatp" ]; then
    log=$("$jatp" bench --op Relu --shape 4,4 --pass fwd,bwd_data "${quick[@]}" --csv "$work/r.csv" 2>&1)
    if [ $? = 0 ] && [ "$(wc -l <"$work/r.csv")" = 3 ] && head -n 1 "$work/r.csv" | grep -q '^op,shape,pass,backend,algo,runs,us_median'; then
        ok csv
    else fail csv "expected a header and 2 rows" "$log$(cat "$work/r.csv" 2>/dev/null)"; fi
    log=$("$jatp" bench --model resnet10-fm-w8 --batch 1 --profile "${quick[@]}" 2>&1)
    if [ $? = 0 ] && grep -q '^Conv ' <<<"$log" && grep -q 'profile:' <<<"$log"; then ok profile; else fail profile "no per-operator breakdown" "$log"; fi
    # the JSON on stdout stays machine-readable (table on stderr)
    if "$jatp" bench --op Relu --shape 4 --pass fwd "${quick[@]}" --json - 2>/dev/null | "$py" -c "import json,sys; json.load(sys.stdin)"; then
        ok json_stdout
    else fail json_stdout "--json - did not print parseable JSON on stdout"; fi
    # usage errors: exit 2, message names the problem
    err() {
        local name=$1 sub=$2
        shift 2
        local log rc
        log=$("$jatp" bench "$@" "${quick[@]}" 2>&1)
        rc=$?
        if [ $rc = 2 ] && grep -q -- "$sub" <<<"$log"; then ok "$name"; else fail "$name" "exit $rc, want 2 and '$sub'" "$log"; fi
    }
    err usage_no_mode "exactly one of"
    err usage_two_modes "exactly one of" --model rrdb-s --op Relu --shape 4
    err usage_bad_model_pass "unknown model pass 'bwd'" --model rrdb-s --pass bwd
    err usage_bad_op_pass "unknown op pass 'step'" --op Relu --shape 4 --pass step
    err usage_bad_shape "bad shape" --op Relu --shape 4,x
    err usage_jatp_pass "training step only" --jatp-step resnet10-fm-w8 --pass fwd
fi

# every shipped case file parses and runs once
for f in "$root"/benchmarks/cases/*.txt; do
    name="casefile_$(basename "$f" .txt)"
    if [ ! -x "$jatp" ]; then fail "$name" "$jatp not found"; continue; fi
    log=$("$jatp" bench --cases "$f" "${quick[@]}" --json "$work/cf.json" 2>&1)
    rc=$?
    if [ $rc = 0 ] && "$py" -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['rows']) > 0" "$work/cf.json" 2>/dev/null; then
        ok "$name"
    else fail "$name" "exit $rc" "$log"; fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
