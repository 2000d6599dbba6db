#!/usr/bin/env python3
"""Forward-pass benchmark: jatp vs ONNX Runtime vs PyTorch on the same model, batch and threads.

Run with the project's venv (it sees Debian's torch and onnx through --system-site-packages):

    .venv/bin/python benchmarks/compare.py                       # all models, batch 32, 2 threads
    .venv/bin/python benchmarks/compare.py --models resnet18 --batch 32 --threads 2

Each model is built in PyTorch with a fixed seed (the definitions in tests/fixtures/gen_models.py),
exported to ONNX at opset 17 (eval mode, BN folded), and the same file is timed by `jatp bench` and by
ONNX Runtime; PyTorch times the module itself (eval, no_grad). All report the best and the median of
repeated runs after warm-up (the best time is the robust one on a machine shared with other
processes). Prints a table with ratios on the best times (peer time / jatp time: > 1 means jatp is
faster) and writes benchmarks/results/forward-<date>.json (schema jatp.bench-compare/2).
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gen_models as gm  # noqa: E402

MODELS = {
    # name: (constructor, input shape without batch)
    "resnet18": (lambda: gm.resnet18(64), (3, 32, 32)),
    "rrdb-s": (lambda: gm.Purifier(c=1, nf=16, gc=8, nb=1), (1, 28, 28)),
    "rrdb-m": (lambda: gm.Purifier(c=1, nf=32, gc=16, nb=1), (1, 28, 28)),
    "nrp-3": (lambda: gm.Purifier(c=3, nf=64, gc=32, nb=3), (3, 32, 32)),
    "unet-small": (lambda: gm.SmallUNet(c=3, w=8), (3, 32, 32)),
}


def median_time(fn, min_time=1.0, min_runs=5, warmup=3):
    """(median, best) seconds of repeated runs after warm-up."""
    for _ in range(warmup):
        fn()
    ts = []
    while len(ts) < min_runs or sum(ts) < min_time:
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), float(np.min(ts))


def bench_jatp(path, batch, threads, jatp):
    """(median, best) seconds, BLAS line and GFLOP per batch from `jatp bench --json -` (schema jatp.bench/2)."""
    out = subprocess.run([jatp, "bench", path, "--batch", str(batch), "--threads", str(threads),
                          "--min-time", "1.0", "--no-peak", "--quiet", "--json", "-"],
                         check=True, capture_output=True, text=True)
    r = json.loads(out.stdout)
    row = r["rows"][0]
    return (row["us_median"] / 1e6, row["us_best"] / 1e6), r["blas"], row["flop"] / 1e9


def bench_ort(path, batch, threads, shape):
    try:
        import onnxruntime as ort
    except ImportError:
        return (None, None), None
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((batch,) + shape, dtype=np.float32)
    name = sess.get_inputs()[0].name
    return median_time(lambda: sess.run(None, {name: x})), ort.__version__


def bench_torch(model, batch, threads, shape):
    """(median, best) seconds of the module itself (eval, no_grad)."""
    torch.set_num_threads(threads)
    x = torch.rand((batch,) + shape)
    with torch.no_grad():
        return median_time(lambda: model(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet18,rrdb-s,rrdb-m", help="comma list of " + ",".join(MODELS))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jatp", default=os.path.join(ROOT, "build", "jatp"))
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            if name not in MODELS:
                sys.exit(f"compare.py: unknown model '{name}' (choose from {', '.join(MODELS)})")
            ctor, shape = MODELS[name]
            torch.manual_seed(gm.SEED)
            model = ctor().eval()
            path = os.path.join(tmp, name + ".onnx")
            gm.export(model, shape, path)
            tj, blas, gflop = bench_jatp(path, args.batch, args.threads, args.jatp)
            to, ort_ver = bench_ort(path, args.batch, args.threads, shape)
            tt = bench_torch(model, args.batch, args.threads, shape)
            (tj, tjb), (to, tob), (tt, ttb) = tj, to, tt
            rows.append(dict(model=name, batch=args.batch, threads=args.threads, gflop_per_batch=gflop,
                             jatp_ms=tj * 1e3, ort_ms=to * 1e3 if to else None, torch_ms=tt * 1e3,
                             jatp_best_ms=tjb * 1e3, ort_best_ms=tob * 1e3 if tob else None,
                             torch_best_ms=ttb * 1e3,
                             ort_over_jatp=tob / tjb if tob else None, torch_over_jatp=ttb / tjb,
                             jatp_gflops=gflop / tjb))
            print(f"  measured {name}", file=sys.stderr)
    print("times: best (median) ms per batch; ratios peer/jatp on the best times (> 1: jatp faster)")
    hdr = (f"{'model':<12} {'batch':>5} {'thr':>3} {'jatp ms':>18} {'GFLOP/s':>8} {'ORT ms':>18} {'ORT/jatp':>9} "
           f"{'torch ms':>18} {'torch/jatp':>10}")
    print(hdr)
    for r in rows:
        ort_ms = f"{r['ort_best_ms']:8.2f} ({r['ort_ms']:7.2f})" if r["ort_ms"] else f"{'n/a':>18}"
        ort_ratio = f"{r['ort_over_jatp']:9.2f}" if r["ort_ms"] else f"{'n/a':>9}"
        print(f"{r['model']:<12} {r['batch']:>5} {r['threads']:>3} {r['jatp_best_ms']:8.2f} ({r['jatp_ms']:7.2f}) "
              f"{r['jatp_gflops']:8.1f} {ort_ms} {ort_ratio} {r['torch_best_ms']:8.2f} ({r['torch_ms']:7.2f}) "
              f"{r['torch_over_jatp']:10.2f}")
    print(f"blas: {blas}; onnxruntime {ort_ver}; torch {torch.__version__}")
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(args.out, f"forward-{stamp}.json"), "w") as f:
        json.dump(dict(schema="jatp.bench-compare/2", blas=blas, onnxruntime=ort_ver, torch=torch.__version__,
                       rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
