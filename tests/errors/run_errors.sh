#!/usr/bin/env bash
# Bad-input tests for the jatp CLI: each case asserts the exit status, key substrings of the message
# (file, node, op, value names), no crash, and that the output directory is left empty (no output,
# no temporary file). With valgrind installed every case runs again under memcheck, and leaks or
# memory errors fail it.
#
#   tests/errors/run_errors.sh [BUILD_DIR] [FILTER]      (BUILD_DIR defaults to build)
#
# Env: JATP_VALGRIND=0 skips the valgrind pass (counted skips); JATP_REQUIRE_VALGRIND=1 makes a
# missing valgrind a failure; JATP_VALGRIND_JATP names the binary of the valgrind pass (run-all gives
# the CPU-only twin of a CUDA build). Inputs are tests/fixtures/bad/* (tests/fixtures/gen_bad_models.py).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
filter=${2:-}
jatp="$build/jatp"
bad="$root/tests/fixtures/bad"
demo="$root/models/onnx/fmnist_cnn.onnx"
passed=0 failed=0 skipped=0

ok() { passed=$((passed + 1)); echo "ok $1"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL $1: $2"
    [ -n "${3:-}" ] && printf '%s\n' "$3" | head -n 20 | sed 's/^/    /'
    return 0
}
skip() { skipped=$((skipped + 1)); echo "skip $1: $2"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/jatp-errors.XXXXXX")
trap 'rm -rf "$work"' EXIT

have_valgrind=0
if [ "${JATP_VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then have_valgrind=1; fi

# case NAME EXPECTED_RC "sub1;sub2;..." ARGS... (ARGS after the jatp binary; OUT in them is replaced
# by a fresh empty directory's out.npy)
case_() {
    local name=$1 want_rc=$2 subs=$3
    shift 3
    if [ -n "$filter" ] && [[ "$name" != *"$filter"* ]]; then return; fi
    if [ ! -x "$jatp" ]; then
        fail "$name" "$jatp not found or not executable (build first)"
        return
    fi
    run_one "$name" "$want_rc" "$subs" "" "$@"
    if [ "$have_valgrind" = 1 ]; then
        run_one "$name [valgrind]" "$want_rc" "$subs" valgrind "$@"
    elif [ "${JATP_REQUIRE_VALGRIND:-0}" = 1 ]; then
        fail "$name [valgrind]" "valgrind not available (JATP_REQUIRE_VALGRIND=1)"
    else
        skip "$name [valgrind]" "valgrind not installed (or JATP_VALGRIND=0)"
    fi
}

run_one() {
    local name=$1 want_rc=$2 subs=$3 vg=$4
    shift 4
    local outdir="$work/out.$RANDOM$RANDOM"
    mkdir -p "$outdir"
    local args=() a
    for a in "$@"; do args+=("${a//OUT/$outdir/out.npy}"); done
    local log="$work/log" vglog="$work/vglog" rc
    rm -f "$vglog"
    if [ -n "$vg" ]; then
        timeout 600 valgrind -q --error-exitcode=99 --leak-check=full --suppressions="$root/tests/valgrind.supp" \
            --errors-for-leak-kinds=definite,indirect,possible --log-file="$vglog" \
            "${JATP_VALGRIND_JATP:-$jatp}" "${args[@]}" >"$log" 2>&1 </dev/null
        rc=$?
    else
        timeout 120 "$jatp" "${args[@]}" >"$log" 2>&1 </dev/null
        rc=$?
    fi
    local msg
    msg=$(cat "$log")
    if [ "$rc" = 124 ]; then
        fail "$name" "timed out" "$msg"
    elif [ "$rc" = 99 ] && [ -n "$vg" ]; then
        fail "$name" "valgrind reported errors or leaks" "$(grep -v '^==[0-9]*== *$' "$vglog" | head -n 40)"
    elif [ "$rc" -ge 128 ]; then
        fail "$name" "crashed (exit $rc, signal $((rc - 128)))" "$msg"
    elif [ "$rc" != "$want_rc" ]; then
        fail "$name" "exit status $rc, expected $want_rc" "$msg"
    else
        local missing=() s
        IFS=';' read -r -a parts <<<"$subs"
        for s in "${parts[@]}"; do
            [ -z "$s" ] && continue
            grep -qiF -- "$s" "$log" || missing+=("'$s'")
        done
        local left
        left=$(ls -A "$outdir")
        if [ ${#missing[@]} -gt 0 ]; then
            fail "$name" "message lacks ${missing[*]}" "$msg"
        elif [ "$want_rc" = 0 ] && [ "$left" != out.npy ]; then
            fail "$name" "expected exactly out.npy in the output directory, found: '$(echo $left)'" "$msg"
        elif [ "$want_rc" != 0 ] && [ -n "$left" ]; then
            fail "$name" "files left in the output directory: $(echo $left)" "$msg"
        elif [ "$want_rc" != 0 ] && [ -z "$msg" ]; then
            fail "$name" "exit $rc without any message"
        else
            ok "$name"
            [ -n "${JATP_ERRORS_VERBOSE:-}" ] && printf '%s\n' "$msg" | sed 's/^/    | /'
        fi
    fi
    rm -rf "$outdir"
}

x="$bad/x_ok.npy"
# Control: the same command line with good inputs succeeds and writes exactly the output file, so
# the failures below come from the bad input and not from a broken command line.
case_ "control: good run" 0 "" run "$demo" --input "$x" --output OUT
case_ "truncated model" 1 "truncated.onnx" run "$bad/truncated.onnx" --input "$x" --output OUT
case_ "random bytes model" 1 "random.onnx" run "$bad/random.onnx" --input "$x" --output OUT
case_ "empty model file" 1 "empty.onnx" run "$bad/empty.onnx" --input "$x" --output OUT
case_ "missing model file" 1 "no_such_model.onnx" run "$bad/no_such_model.onnx" --input "$x" --output OUT
case_ "missing initializer" 1 "missing_initializer.onnx;conv_a;conv1.weight" \
    run "$bad/missing_initializer.onnx" --input "$x" --output OUT
case_ "dangling input name" 1 "dangling_input.onnx;add_b;nowhere" \
    run "$bad/dangling_input.onnx" --input "$x" --output OUT
case_ "several unsupported ops in one error" 1 \
    "unsupported_ops.onnx;Einsum;GridSample;FooBarOp;/attn/Einsum;/attn/Einsum_1;/stn/GridSample;/x/FooBarOp" \
    run "$bad/unsupported_ops.onnx" --input "$x" --output OUT
case_ "huge declared initializer dims" 1 "huge_dims.onnx;huge_w" \
    run "$bad/huge_dims.onnx" --input "$x" --output OUT
case_ "huge declared input dims" 1 "huge_input_dims.onnx;input" \
    run "$bad/huge_input_dims.onnx" --input "$x" --output OUT
case_ "external data file missing" 1 "external_missing.onnx;ext_w;missing_weights.bin" \
    run "$bad/external_missing.onnx" --input "$x" --output OUT
case_ "external data file too short" 1 "external_short.onnx;ext_w;short_weights.bin" \
    run "$bad/external_short.onnx" --input "$x" --output OUT
case_ "external data outside the model directory" 1 "external_escape.onnx;ext_w" \
    run "$bad/external_escape.onnx" --input "$x" --output OUT
case_ "unknown attribute" 1 "unknown_attribute.onnx;conv_attr;bogus_attr" \
    run "$bad/unknown_attribute.onnx" --input "$x" --output OUT
case_ "opset 19" 1 "opset19.onnx;19" run "$bad/opset19.onnx" --input "$x" --output OUT
case_ "fortran-order npy" 1 "x_fortran.npy;fortran" run "$demo" --input "$bad/x_fortran.npy" --output OUT
case_ "truncated npy" 1 "x_truncated.npy" run "$demo" --input "$bad/x_truncated.npy" --output OUT
case_ "missing input file" 1 "no_such_input.npy" run "$demo" --input "$bad/no_such_input.npy" --output OUT
case_ "wrong input shape" 1 "input;[2,3,28,28]" run "$demo" --input "$bad/x_wrong_shape.npy" --output OUT
case_ "input rank mismatch" 1 "input;[2,28,28]" run "$demo" --input "$bad/x_rank3.npy" --output OUT
case_ "wrong input dtype" 1 "input;int64;float32" run "$demo" --input "$bad/x_int64.npy" --output OUT
case_ "output into a missing directory" 1 "no_such_dir" \
    run "$demo" --input "$x" --output "$work/no_such_dir/out.npy"
case_ "bad CLI flag" 2 "--bogus" run "$demo" --bogus --input "$x" --output OUT
case_ "unknown device" 2 "tpu" run "$demo" --device tpu --input "$x" --output OUT
case_ "unknown subcommand" 2 "frobnicate" frobnicate
case_ "run without --input" 2 "--input" run "$demo" --output OUT

# jatp attack / jatp eval
x8="$root/models/onnx/fmnist_test8.npy"
y8="$root/models/onnx/fmnist_test8_labels.npy"
atk=(attack --target "$demo" --images "$x8" --labels "$y8" --steps 2 --quiet)
case_ "control: good attack" 0 "" "${atk[@]}" --attack pgd --out OUT
case_ "attack: unknown attack" 2 "pgdd;apgd-ce" "${atk[@]}" --attack pgdd --out OUT
case_ "attack: bad eps" 2 "--eps;abc" "${atk[@]}" --attack pgd --eps abc --out OUT
case_ "attack: negative eps" 2 "--eps;-0.1" "${atk[@]}" --attack pgd --eps -0.1 --out OUT
case_ "attack: labels of the wrong dtype" 1 "y_float.npy;int64" \
    attack --target "$demo" --images "$x8" --labels "$bad/y_float.npy" --attack pgd --out OUT
case_ "attack: labels of the wrong length" 1 "y_short.npy;[8]" \
    attack --target "$demo" --images "$x8" --labels "$bad/y_short.npy" --attack pgd --out OUT
case_ "attack: images outside [0,1]" 1 "x_outside01.npy;outside [0,1]" \
    attack --target "$demo" --images "$bad/x_outside01.npy" --labels "$y8" --attack pgd --out OUT
case_ "attack: images of the wrong shape" 1 "x_wrong_shape.npy;input;3,28,28" \
    attack --target "$demo" --images "$bad/x_wrong_shape.npy" --labels "$bad/y_two.npy" --attack pgd --out OUT
case_ "attack: bad model" 1 "truncated.onnx" \
    attack --target "$bad/truncated.onnx" --images "$x8" --labels "$y8" --attack pgd --out OUT
case_ "attack: BPDA without a defense" 2 "--defense" "${atk[@]}" --attack pgd-bpda --out OUT
case_ "attack: feature PGD without a tap" 1 "--tap" "${atk[@]}" --attack pgd-feat --out OUT
case_ "attack: unknown tap" 1 "no_such_layer" "${atk[@]}" --attack pgd-feat --tap no_such_layer --out OUT
case_ "attack: without --out" 2 "--out" "${atk[@]}" --attack pgd
case_ "eval: unknown setting" 2 "bogus" eval --target "$demo" --images "$x8" --labels "$y8" --attacks pgd:bogus=1 --quiet
case_ "eval: setting without a value" 2 "steps" eval --target "$demo" --images "$x8" --labels "$y8" --attacks pgd:steps --quiet
case_ "eval: unknown dataset" 2 "imagenet" eval --target "$demo" --dataset imagenet --attacks pgd --quiet

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
