#!/usr/bin/env python3
"""Peer timings in `jatp bench`'s table format (and its --json keys), for one model at a time.

    .venv/bin/python benchmarks/peers/peer_bench.py --peer torch --model resnet18 --batch 32 --threads 2
    .venv/bin/python benchmarks/peers/peer_bench.py --peer ort MODEL.onnx --batch 32 --threads 2 [--json]

--peer torch times a PyTorch module built from tests/fixtures/gen_models.py (eval mode, no_grad);
--peer ort times an ONNX file with ONNX Runtime (CPU, all graph optimisations on, as users run it).
Both report the median, 10th and 90th percentile of repeated runs after warm-up (at least --min-runs
runs and --min-time seconds), images/s, and GFLOP/s from the Conv/ConvTranspose/Gemm/MatMul
multiply-adds (2 FLOPs each) counted on the ONNX graph with onnx shape inference, the same counting
rule as `jatp bench` for those ops (other ops are ignored, so GFLOP/s is a lower bound).
benchmarks/compare.py runs jatp, ORT and torch side by side; this script is the single-peer tool.
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))

MODELS = {
    "resnet18": ("resnet18", (64,), (3, 32, 32)),
    "resnet18-w8": ("resnet18", (8,), (3, 32, 32)),
    "preact-resnet18": ("preact_resnet18", (64,), (3, 32, 32)),
    "rrdb-s": ("Purifier", (1, 16, 8, 1), (1, 28, 28)),
    "rrdb-m": ("Purifier", (1, 32, 16, 1), (1, 28, 28)),
    "nrp-3": ("Purifier", (3, 64, 32, 3), (3, 32, 32)),
    "unet-small": ("SmallUNet", (3, 8), (3, 32, 32)),
    "fmnist-cnn": ("FmnistCNN", (), (1, 28, 28)),
}


def graph_flops(model_bytes, batch, input_shape):
    """2 x multiply-adds of Conv, ConvTranspose, Gemm and MatMul nodes for this batch."""
    import onnx
    from onnx import shape_inference
    m = onnx.load_from_string(model_bytes)
    inp = m.graph.input[0]
    dims = inp.type.tensor_type.shape.dim
    dims[0].ClearField("dim_param")
    dims[0].dim_value = batch
    m = shape_inference.infer_shapes(m)
    shapes = {}
    for v in list(m.graph.input) + list(m.graph.value_info) + list(m.graph.output):
        shapes[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
    for t in m.graph.initializer:
        shapes[t.name] = list(t.dims)
    flops = 0.0
    for n in m.graph.node:
        try:
            if n.op_type in ("Conv", "ConvTranspose"):
                w = shapes[n.input[1]]
                x = shapes[n.input[0]]
                y = shapes[n.output[0]]
                k = int(np.prod(w[2:]))
                if n.op_type == "Conv":
                    flops += 2.0 * np.prod(y) * w[1] * k
                else:
                    flops += 2.0 * np.prod(x) * w[1] * k
            elif n.op_type in ("Gemm", "MatMul"):
                a = shapes[n.input[0]]
                y = shapes[n.output[0]]
                trans_a = any(at.name == "transA" and at.i for at in n.attribute)
                kdim = a[-2] if trans_a else a[-1]
                flops += 2.0 * np.prod(y) * kdim
        except (KeyError, IndexError):
            continue
    return float(flops)


def timeit(fn, min_time, min_runs, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    while len(ts) < min_runs or sum(ts) < min_time:
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return np.array(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx", nargs="?", help="ONNX file (--peer ort); omit to export --model")
    ap.add_argument("--peer", choices=["torch", "ort"], required=True)
    ap.add_argument("--model", choices=sorted(MODELS), help="model from tests/fixtures/gen_models.py")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--min-runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print jatp bench --json style output")
    a = ap.parse_args()
    if a.batch < 1 or a.threads < 1 or a.min_runs < 1:
        ap.error("--batch, --threads and --min-runs must be >= 1")

    import torch
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    module = None
    if a.model:
        import gen_models as gm
        ctor, args, shape = MODELS[a.model]
        module = getattr(gm, ctor)(*args).eval()
        buf = io.BytesIO()
        torch.onnx.export(module, torch.zeros((1,) + shape), buf, opset_version=17,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        model_bytes = buf.getvalue()
        name = a.model
    elif a.onnx:
        if a.peer == "torch":
            ap.error("--peer torch needs --model (PyTorch cannot run an ONNX file)")
        with open(a.onnx, "rb") as f:
            model_bytes = f.read()
        name = a.onnx
        import onnx
        dims = onnx.load_from_string(model_bytes).graph.input[0].type.tensor_type.shape.dim
        shape = tuple(d.dim_value for d in dims[1:])
        if any(s <= 0 for s in shape):
            ap.error("%s: input has symbolic non-batch dimensions" % a.onnx)
    else:
        ap.error("give an ONNX file or --model")

    x = np.random.default_rng(0).uniform(0, 1, (a.batch,) + tuple(shape)).astype(np.float32)
    if a.peer == "torch":
        xt = torch.from_numpy(x)

        def fn():
            with torch.no_grad():
                module(xt)
        backend = "torch %s (%s threads)" % (torch.__version__, a.threads)
    else:
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(model_bytes, sess_options=so, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x}

        def fn():
            sess.run(None, feed)
        backend = "onnxruntime %s" % ort.__version__

    ts = timeit(fn, a.min_time, a.min_runs, a.warmup)
    med, p10, p90 = (float(np.percentile(ts, q)) for q in (50, 10, 90))
    flops = graph_flops(model_bytes, a.batch, shape)
    if a.json:
        print(json.dumps(dict(model=name, peer=a.peer, backend=backend, batch=a.batch, threads=a.threads,
                              runs=len(ts), ms_median=med * 1e3, ms_p10=p10 * 1e3, ms_p90=p90 * 1e3,
                              images_per_s=a.batch / med, gflops=flops / med / 1e9,
                              gflop_per_batch=flops / 1e9), indent=2))
    else:
        print("model    %s\nbatch    %d   threads %d   runs %d\npeer     %s"
              % (name, a.batch, a.threads, len(ts), backend))
        print("%-10s %10s %10s %10s %12s %10s" % ("", "median ms", "p10 ms", "p90 ms", "images/s", "GFLOP/s"))
        print("%-10s %10.3f %10.3f %10.3f %12.1f %10.1f" % ("forward", med * 1e3, p10 * 1e3, p90 * 1e3,
                                                            a.batch / med, flops / med / 1e9))
    return 0


if __name__ == "__main__":
    sys.exit(main())
