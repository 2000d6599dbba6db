#!/usr/bin/env bash
# The GPU check in one command (../shared/gpu.md; results are recorded in docs/gpu-runs.md).
#
#   tools/gpu-check.sh build [BUILD_DIR]      on the CPU machine (default BUILD_DIR: build-gpu)
#   tools/gpu-check.sh run   [PORTABLE_DIR]   on the GPU machine (default: build-gpu/portable)
#   tools/gpu-check.sh tests [PORTABLE_DIR]   the test part of `run` alone
#   tools/gpu-check.sh bench [PORTABLE_DIR]   the benchmark part of `run` alone
#
# build: configures BUILD_DIR with the CUDA backend required, protobuf-c and zlib linked statically
#   (-Dstatic_deps=true; OpenBLAS too, with libgfortran, when JATP_GPU_BLAS=openblas: by default
#   -Dblas=none, see do_build), -Dwerror=true, builds it, and assembles
#   BUILD_DIR/portable: the stripped binaries the GPU run needs (bin/), the shared libraries that are
#   neither system libraries nor CUDA's (lib/, e.g. libcjson), and manifest.txt (commit, date, the
#   compiled-in source root, each binary's needed libraries, the newest glibc symbol version needed).
#   It fails when a binary still needs libprotobuf-c, libopenblas, libgfortran or libz dynamically, or
#   when the portable folder plus the source tree exceed 64 MiB. Hand the folder over with the tree,
#   e.g. the device tool's `carry: ["build-gpu/portable"]`.
# run: on the GPU machine, from the source tree: LD_LIBRARY_PATH from the pip wheels of cuDNN, cuBLAS,
#   the CUDA runtime and NCCL (python3 -c "import nvidia.cudnn ..."), /usr/local/cuda as fallback,
#   plus portable/lib; prints nvidia-smi; runs every CUDA test binary with JATP_REQUIRE_CUDA=1 (a skip
#   is a failure there); measures the card's ceilings (gpu_peak: D2D copy, cuBLAS SGEMM); runs the
#   PyTorch peers (benchmarks/peers/torch_gpu.py: eager and torch.compile) and `jatp bench --device
#   cuda` when this jatp's bench has --device; writes everything under OUT_DIR:
#     gpu-check.log  nvidia-smi.txt  tests.log  gpu_peak.json  torch_gpu.json  jatp_bench.json
#     summary.json   gpu-runs-entry.md (a docs/gpu-runs.md entry filled in from this run)
#   OUT_DIR is $OUT when set (the device tool's), else gpu-check-out/<date>. Exit status: 0 when every
#   test passed, 1 otherwise (benchmark failures are reported, not counted).
#
# Env: JATP_GPU_BENCH_BUDGET (seconds for the PyTorch peers, default 300: rows past it are recorded as
#   skipped), JATP_GPU_TEST_TIMEOUT (seconds per test binary, default 600), JATP_GPU_NO_COMPILE=1 (eager
#   only), JATP_PYTHON (default python3).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
shift || true

# The CUDA test binaries (paths under the build folder's tests/) and the tools the run needs.
CUDA_TESTS="ops/test_cuda_ops model_cuda core/test_cuda_inject core/test_backend attacks/test_attack_cuda train_target/test_target_cuda train_denoiser/test_train_denoiser_cuda"
TOOLS="jatp gpu_peak"

die() { echo "gpu-check: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- build
do_build() {
    local bdir=${1:-build-gpu}
    case "$bdir" in /*) ;; *) bdir="$root/$bdir" ;; esac
    # blas=none by default: a static OpenBLAS (DYNAMIC_ARCH, all CPU kernels) adds 25 MB of code to every
    # binary, 150 MB for the six, over the 64 MiB the GPU machine gets; the GPU run times no CPU GEMM and
    # the CPU references use jatp's own GEMM. JATP_GPU_BLAS=openblas keeps it (statically linked).
    local opts=(-Dcuda=enabled -Dstatic_deps=true -Dplots=disabled "-Dblas=${JATP_GPU_BLAS:-none}" -Dwerror=true -Dbuildtype=release
        -Db_ndebug=false)
    if [ -f "$bdir/build.ninja" ]; then
        (cd "$root" && meson configure "$bdir" "${opts[@]}") || die "meson configure failed"
    else
        (cd "$root" && meson setup "$bdir" "${opts[@]}") || die "meson setup failed"
    fi
    ninja -C "$bdir" || die "the build failed"
    local port="$bdir/portable"
    rm -rf "$port"
    mkdir -p "$port/bin" "$port/tests" "$port/lib"
    local t
    for t in $TOOLS; do
        [ -x "$bdir/$t" ] || die "$bdir/$t was not built (CUDA not found?)"
        cp "$bdir/$t" "$port/bin/"
    done
    for t in $CUDA_TESTS; do
        [ -x "$bdir/tests/$t" ] || die "$bdir/tests/$t was not built"
        mkdir -p "$port/tests/$(dirname "$t")"
        cp "$bdir/tests/$t" "$port/tests/$t"
    done
    find "$port/bin" "$port/tests" -type f -exec strip --strip-unneeded {} +
    # dynamic dependencies: forbidden ones, bundled ones, system and CUDA ones
    local bad="" f lib path glibc=""
    local manifest="$port/manifest.txt"
    {
        echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
        echo "built: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n) ($(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}"))"
        echo "source_root: $root"
        echo "nvcc: $(/usr/local/cuda/bin/nvcc --version 2>/dev/null | tail -n 1)"
    } >"$manifest"
    for f in $(find "$port/bin" "$port/tests" -type f | sort); do
        local needed
        needed=$(readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
        echo "needs ${f#"$port/"}: $needed" >>"$manifest"
        for lib in $needed; do
            case "$lib" in
            libprotobuf-c* | libopenblas* | libgfortran* | libz.so* | libquadmath*) bad="$bad ${f#"$port/"}:$lib" ;;
            libc.so* | libm.so* | libdl.so* | libpthread.so* | librt.so* | ld-linux* | libgcc_s.so* | libstdc++.so*) ;;
            libcudart* | libcublas* | libcudnn* | libnccl* | libcuda.so*) ;;
            *)
                if [ ! -f "$port/lib/$lib" ]; then
                    path=$(ldd "$f" | awk -v l="$lib" '$1 == l {print $3}')
                    [ -n "$path" ] && [ -f "$path" ] || die "cannot find $lib (needed by $f)"
                    cp -L "$path" "$port/lib/$lib"
                fi
                ;;
            esac
        done
    done
    # libstdc++/libgcc_s: system libraries, but the GPU machine's may be older than this compiler's
    for lib in libstdc++.so.6 libgcc_s.so.1; do
        path=$(ldd "$port/bin/jatp" | awk -v l="$lib" '$1 == l {print $3}')
        [ -n "$path" ] && cp -L "$path" "$port/lib/$lib.bundled"
    done
    [ -z "$bad" ] || die "linked dynamically, must be static (-Dstatic_deps=true):$bad"
    glibc=$(find "$port/bin" "$port/tests" -type f -exec objdump -T {} + 2>/dev/null | grep -o 'GLIBC_[0-9.]*' |
        sort -t. -k1,1 -k2,2n -k3,3n -u | tail -n 1)
    echo "newest glibc symbol needed: ${glibc:-unknown} (the GPU machine's glibc must be at least that)" >>"$manifest"
    echo "bundled: $(ls "$port/lib" | tr '\n' ' ')" >>"$manifest"
    local psize tsize total
    psize=$(du -sb "$port" | cut -f1)
    tsize=$(cd "$root" && { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 du -cb 2>/dev/null |
        awk '/\ttotal$/ {s += $1} END {print s + 0}')
    total=$((psize + tsize))
    echo "size: portable $((psize / 1024)) KiB + source tree $((tsize / 1024)) KiB = $((total / 1048576)) MiB" >>"$manifest"
    cat "$manifest"
    [ "$total" -lt $((64 * 1048576)) ] || die "portable folder + source tree = $total bytes, over 64 MiB"
    echo "gpu-check: ready: $port (run on the GPU machine: tools/gpu-check.sh run ${port#"$root/"})"
}

# ---------------------------------------------------------------------------------------------- run
port=""
out=""
py=${JATP_PYTHON:-python3}

setup_run() {
    port=${1:-build-gpu/portable}
    case "$port" in /*) ;; *) port="$root/$port" ;; esac
    [ -f "$port/manifest.txt" ] || die "$port/manifest.txt not found: run 'tools/gpu-check.sh build' on the CPU machine and bring $port along"
    if [ -n "${OUT:-}" ]; then out=$OUT; else out="$root/gpu-check-out/$(date -u +%Y%m%d-%H%M%S)"; fi
    mkdir -p "$out"
    # libraries: the pip wheels (gpu.md), then a CUDA toolkit, then the bundled ones
    local wheels
    wheels=$("$py" - <<'EOF' 2>/dev/null
import glob, importlib, os
want = ("libcudart.so", "libcublas.so", "libcublasLt.so", "libcudnn.so", "libnccl.so")
dirs = []
for mod in ("nvidia.cudnn", "nvidia.cublas", "nvidia.cuda_runtime", "nvidia.nccl", "nvidia.cu13", "nvidia"):
    try:
        m = importlib.import_module(mod)
    except Exception:
        continue
    roots = list(getattr(m, "__path__", [])) or [os.path.dirname(m.__file__)]
    for r in roots:
        for d, _, files in os.walk(r):
            if any(f.startswith(w) for f in files for w in want) and d not in dirs:
                dirs.append(d)
print(":".join(dirs))
EOF
)
    local ld="$wheels"
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
        [ -d "$d" ] && ld="${ld:+$ld:}$d"
    done
    ld="${ld:+$ld:}$port/lib"
    export LD_LIBRARY_PATH="$ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export JATP_SOURCE_ROOT="$root"
    # binaries with the compiled-in source root (test_backend) find the tree through a link
    local croot
    croot=$(sed -n 's/^source_root: //p' "$port/manifest.txt")
    if [ -n "$croot" ] && [ "$croot" != "$root" ] && [ ! -e "$croot" ]; then
        mkdir -p "$(dirname "$croot")" 2>/dev/null && ln -s "$root" "$croot" 2>/dev/null ||
            echo "gpu-check: note: cannot link $croot -> $root; tests with the compiled-in path may fail"
    fi
}

# libstdc++/libgcc_s: the bundled copies only when the system's are missing or too old
fix_libstdcxx() {
    local f="$port/bin/jatp" missing
    missing=$(ldd "$f" 2>&1 | grep -E 'not found|GLIBCXX_.*not found|version .* not found' || true)
    if [ -n "$missing" ]; then
        echo "gpu-check: system libraries do not satisfy jatp: $missing"
        local lib
        for lib in libstdc++.so.6 libgcc_s.so.1; do
            [ -f "$port/lib/$lib.bundled" ] && ln -sf "$lib.bundled" "$port/lib/$lib" 2>/dev/null
        done
        echo "gpu-check: after linking the bundled libstdc++/libgcc_s:"
        ldd "$f" 2>&1 | grep -E 'not found' || echo "  all resolved"
    fi
}

run_tests() {
    local tlog="$out/tests.log" t p f s line rc dt tpass=0 tfail=0 tskip=0 results=""
    local to=${JATP_GPU_TEST_TIMEOUT:-600} one
    one=$(mktemp "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
    : >"$tlog"
    for t in $CUDA_TESTS; do
        echo "=== $t" | tee -a "$tlog"
        local t0=$SECONDS
        (cd "$root" && JATP_REQUIRE_CUDA=1 timeout --kill-after=20 "$to" "$port/tests/$t") >"$one" 2>&1
        rc=$?
        dt=$((SECONDS - t0))
        cat "$one" >>"$tlog"
        grep -E '^(FAIL|# )' "$one" | head -n 30
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$one" | tail -n 1)
        if [ -z "$line" ]; then
            echo "FAIL $t: exit $rc without a count line (timeout, crash or missing library)" | tee -a "$tlog"
            p=0 f=1 s=0
        else
            read -r p _ f _ s _ <<<"${line//,/}"
            if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
                echo "FAIL $t: exit $rc but no failure counted" | tee -a "$tlog"
                f=1
            fi
        fi
        printf '%-24s %5d passed %5d failed %5d skipped  %4ds\n' "$t" "$p" "$f" "$s" "$dt" | tee -a "$tlog"
        tpass=$((tpass + p)) tfail=$((tfail + f)) tskip=$((tskip + s))
        results="$results{\"test\": \"$t\", \"passed\": $p, \"failed\": $f, \"skipped\": $s, \"seconds\": $dt},"
    done
    rm -f "$one"
    echo "tests: $tpass passed, $tfail failed, $tskip skipped (JATP_REQUIRE_CUDA=1: a missing device fails; skips left are table rows' own reasons)" | tee -a "$tlog"
    TESTS_JSON="[${results%,}]"
    TESTS_FAILED=$tfail
    TESTS_LINE="$tpass passed, $tfail failed, $tskip skipped"
}

run_bench() {
    echo "=== gpu_peak"
    "$port/bin/gpu_peak" --json "$out/gpu_peak.json" || echo "gpu-check: gpu_peak failed"
    echo "=== PyTorch peers (eager, torch.compile)"
    local comp="eager,compile"
    [ "${JATP_GPU_NO_COMPILE:-0}" = 1 ] && comp="eager"
    (cd "$root" && PYTHONUNBUFFERED=1 "$py" benchmarks/peers/torch_gpu.py --modes "$comp" \
        --budget "${JATP_GPU_BENCH_BUDGET:-300}" --json "$out/torch_gpu.json") || echo "gpu-check: torch_gpu.py failed"
    echo "=== jatp bench --device cuda"
    if "$port/bin/jatp" bench --help 2>&1 | grep -q -- '--device'; then
        local parts=() i=0 spec
        for spec in "--model resnet18 --batch 128 --pass fwd,fwdbwd" "--model resnet18 --batch 512 --pass fwd,fwdbwd" \
            "--model nrp3 --batch 128 --pass fwd,fwdbwd" "--model nrp3 --batch 512 --pass fwd,fwdbwd" \
            "--jatp-step resnet18 --denoiser nrp3 --batch 128"; do
            i=$((i + 1))
            # shellcheck disable=SC2086
            if "$port/bin/jatp" bench --device cuda $spec --json "$out/.jb$i.json"; then parts+=("$out/.jb$i.json");
            else echo "gpu-check: jatp bench --device cuda $spec failed"; fi
        done
        "$py" - "$out/jatp_bench.json" "${parts[@]}" <<'EOF'
import json, sys
rows, hdr = [], {}
for p in sys.argv[2:]:
    d = json.load(open(p))
    hdr = hdr or {k: v for k, v in d.items() if k != "rows"}
    rows += d.get("rows", [])
hdr["rows"] = rows
json.dump(hdr, open(sys.argv[1], "w"), indent=1)
EOF
        rm -f "$out"/.jb*.json
    else
        echo "gpu-check: this jatp's bench has no --device option yet: jatp's GPU rows are not measured" |
            tee "$out/jatp_bench.json.txt"
        echo '{"schema": "jatp.bench/2", "rows": [], "note": "jatp bench has no --device option in this build"}' \
            >"$out/jatp_bench.json"
        rm -f "$out/jatp_bench.json.txt"
    fi
}

summarize() {
    "$py" - "$out" "$port/manifest.txt" "${TESTS_LINE:-not run}" "${TESTS_JSON:-[]}" <<'EOF'
import json, os, sys
out, manifest, tests_line, tests_json = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception:
        return None
man = dict(l.split(": ", 1) for l in open(manifest).read().splitlines() if ": " in l)
smi = open(os.path.join(out, "nvidia-smi.txt")).read() if os.path.exists(os.path.join(out, "nvidia-smi.txt")) else ""
peak, torch_rows, jb = load("gpu_peak.json"), load("torch_gpu.json"), load("jatp_bench.json")
card = (peak or {}).get("device") or (torch_rows or {}).get("device") or "unknown card"
summary = dict(schema="jatp.gpu_check/1", commit=man.get("commit"), built=man.get("built"), card=card,
               tests=json.loads(tests_json), tests_line=tests_line, peak=peak,
               torch=torch_rows, jatp=jb)
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
# the docs/gpu-runs.md entry
fp32 = (peak or {}).get("sgemm_fp32_tflops")
L = []
import datetime
L.append("### %s, %s" % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"), card))
L.append("")
L.append("- commit: %s" % man.get("commit"))
L.append("- card: %s; driver/runtime: %s / %s" % (card, (peak or {}).get("driver", "?"), (peak or {}).get("runtime", "?")))
if torch_rows:
    L.append("- PyTorch: %s" % torch_rows.get("torch"))
L.append("- tests (JATP_REQUIRE_CUDA=1): %s" % tests_line)
for t in json.loads(tests_json):
    L.append("  - %s: %d passed, %d failed, %d skipped" % (t["test"], t["passed"], t["failed"], t["skipped"]))
if peak:
    L.append("- ceilings: D2D copy %.0f GB/s (cudaMemcpy), %.0f GB/s (copy kernel); SGEMM n=%d %.1f TFLOP/s float32, "
             "%.1f TFLOP/s TF32" % (peak["memcpy_gbps"], peak["copy_kernel_gbps"], peak["sgemm_n"],
                                    peak["sgemm_fp32_tflops"], peak["sgemm_tf32_tflops"]))
L.append("")
L.append("| case | batch | pass | torch eager ms | torch.compile ms | jatp ms | jatp / eager | jatp / compile | jatp TFLOP/s | % fp32 peak |")
L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
def key(r):
    return (r.get("case"), r.get("batch"), r.get("pass"))
tr = {}
for r in (torch_rows or {}).get("rows", []):
    tr.setdefault(key(r), {})[r["mode"]] = r
jr = {}
for r in (jb or {}).get("rows", []):
    op = r.get("op", "")
    case = "jatp-step" if op.startswith("jatp-step") else op
    p = r.get("pass")
    jr[(case, r.get("batch"), p)] = r
for k in sorted(set(tr) | set(jr), key=lambda k: tuple(str(x) for x in k)):
    e, c, j = tr.get(k, {}).get("eager"), tr.get(k, {}).get("compile"), jr.get(k)
    def ms(r):
        return r.get("ms_median") if r and "ms_median" in r else (r["us_median"] / 1e3 if r and "us_median" in r else None)
    me, mc, mj = ms(e), ms(c), ms(j)
    def f(x, fmt="%.2f"):
        return fmt % x if x is not None else "-"
    flop = (j or {}).get("flop") or (e or {}).get("flop")
    tfl = flop / (mj * 1e-3) / 1e12 if flop and mj else None
    L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        k[0], k[1], k[2], f(me), f(mc), f(mj), f(me / mj if me and mj else None, "%.2fx"),
        f(mc / mj if mc and mj else None, "%.2fx"), f(tfl), f(100 * tfl / fp32 if tfl and fp32 else None, "%.1f")))
if not jr:
    L.append("")
    L.append("jatp's own GPU rows: %s" % ((jb or {}).get("note") or "not measured"))
open(os.path.join(out, "gpu-runs-entry.md"), "w").write("\n".join(L) + "\n")
print("\n".join(L))
EOF
}

case "$cmd" in
build)
    do_build "$@"
    ;;
run | tests | bench)
    setup_run "$@"
    exec > >(tee -a "$out/gpu-check.log") 2>&1
    echo "gpu-check $cmd: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), tree $root, binaries $port, output $out"
    cat "$port/manifest.txt"
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    if command -v nvidia-smi >/dev/null; then nvidia-smi 2>&1 | tee "$out/nvidia-smi.txt"; else echo "no nvidia-smi" | tee "$out/nvidia-smi.txt"; fi
    fix_libstdcxx
    echo "=== ldd jatp"
    ldd "$port/bin/jatp"
    TESTS_FAILED=0
    [ "$cmd" = bench ] || run_tests
    [ "$cmd" = tests ] || run_bench
    echo "=== summary"
    summarize
    echo "gpu-check: logs and JSON in $out"
    [ "$TESTS_FAILED" = 0 ]
    ;;
*)
    sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = -h ] || [ "$cmd" = --help ] || exit 2
    ;;
esac
