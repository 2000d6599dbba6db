#!/usr/bin/env bash
# Runs jatp and its PyTorch peer on the same benchmark cases and prints one combined table with ratios
# (torch time / jatp time; > 1 means jatp is faster), then the forward comparison jatp vs ONNX Runtime
# vs PyTorch (benchmarks/compare.py).
#
#   benchmarks/run_all.sh [BUILD_DIR]            (default: build; the jatp binary is BUILD_DIR/jatp)
#
# Env: THREADS (default 2), MIN_TIME (seconds per row and side, default 0.5), SECTIONS (any of
# "ops models jatp forward", default all), CASES (case files for "ops", default every
# benchmarks/cases/*.txt), OUT (result directory, default benchmarks/results/run-<date>).
# Each case runs jatp, then torch, before the next case, so both sides see similar machine load. The
# FP32 peak is measured once (jatp's in-process FMA loop) and passed to every later run.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
jatp="$build/jatp"
threads=${THREADS:-2}
min_time=${MIN_TIME:-0.5}
sections=${SECTIONS:-ops models jatp forward}
if [ -x "$root/.venv/bin/python" ]; then py="$root/.venv/bin/python"; else py=/usr/bin/python3; fi
out=${OUT:-$root/benchmarks/results/run-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
[ -x "$jatp" ] || { echo "run_all.sh: $jatp not found (build first: ninja -C $build)" >&2; exit 1; }

has() { case " $sections " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

"$jatp" bench --op Relu --shape 16 --min-time 0 --min-runs 1 --warmup 0 --threads "$threads" --quiet --json "$out/peak.json"
peak=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['peak_gflops'])" "$out/peak.json")
echo "peak: $peak GFLOP/s (measured by jatp, $threads threads)" >&2
common=(--threads "$threads" --min-time "$min_time" --peak-gflops "$peak" --quiet)
tb="$root/benchmarks/peers/torch_bench.py"

n=0
if has ops; then
    for c in ${CASES:-"$root"/benchmarks/cases/*.txt}; do
        # one case per run (line by line) so that jatp and torch alternate
        while IFS= read -r line; do
            l=${line%%#*}
            [ -z "${l// /}" ] && continue
            n=$((n + 1)); n3=$(printf %03d "$n")
            printf '%s\n' "$l" >"$out/case-$n3.txt"
            "$jatp" bench --cases "$out/case-$n3.txt" "${common[@]}" --json "$out/jatp-ops-$n3-$(basename "$c" .txt).json"
            "$py" "$tb" --cases "$out/case-$n3.txt" "${common[@]}" --json "$out/torch-ops-$n3-$(basename "$c" .txt).json"
            echo "  $(basename "$c"): $l" >&2
        done <"$c"
    done
fi
if has models; then
    for spec in "resnet18 32" "resnet10-fm 128" "rrdb-s 128" "rrdb-m 128"; do
        set -- $spec
        n=$((n + 1)); n3=$(printf %03d "$n")
        "$jatp" bench --model "$1" --batch "$2" --pass fwd,fwdbwd,step "${common[@]}" --json "$out/jatp-model-$n3.json"
        "$py" "$tb" --model "$1" --batch "$2" --pass fwd,fwdbwd,step "${common[@]}" --json "$out/torch-model-$n3.json"
        echo "  model $1 batch $2" >&2
    done
fi
if has jatp; then
    "$jatp" bench --jatp-step resnet10-fm --denoiser rrdb-s --batch 128 "${common[@]}" --json "$out/jatp-step.json"
    "$py" "$tb" --jatp-step resnet10-fm --denoiser rrdb-s --batch 128 "${common[@]}" --json "$out/torch-step.json"
    echo "  JATP step" >&2
fi
if ls "$out"/jatp-*.json >/dev/null 2>&1; then
    echo
    "$py" "$root/benchmarks/combine.py" "$out"/jatp-*.json "$out"/torch-*.json --markdown "$out/combined.md" |
        tee "$out/combined.txt"
fi
if has forward; then
    echo
    echo "ResNet-18 CIFAR forward, batch 32, $threads threads: jatp vs ONNX Runtime vs PyTorch"
    "$py" "$root/benchmarks/compare.py" --models resnet18 --batch 32 --threads "$threads" --jatp "$jatp" --out "$out" |
        tee "$out/forward.txt"
fi
echo "results in $out" >&2
