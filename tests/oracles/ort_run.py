#!/usr/bin/env python3
"""Runs an ONNX model with ONNX Runtime (CPU) on .npy inputs and writes .npy outputs.

    ort_run.py MODEL --input x.npy [--input y.npy ...] --output out.npy [--output ...]

Inputs bind to the graph inputs by position (initializer-backed inputs excluded, as in jatp).
Exit 0 on success, 1 on an ORT error, 3 when onnxruntime is not importable.
Used by tests/oracles/check_ort.py; also handy by hand:
    .venv/bin/python tests/oracles/ort_run.py models/onnx/fmnist_cnn.onnx \\
        --input models/onnx/fmnist_test8.npy --output /tmp/ort.npy
"""
import argparse
import sys

import numpy as np


def load_session(model):
    import onnxruntime as ort  # noqa: raises ImportError when absent
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    # Full optimisations fuse and reorder float ops; keep ORT close to the graph as written.
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])


def run(model, inputs):
    """inputs: list of numpy arrays by position. Returns the list of outputs."""
    sess = load_session(model)
    names = [i.name for i in sess.get_inputs()]
    if len(names) != len(inputs):
        raise ValueError("%s has %d inputs, %d given" % (model, len(names), len(inputs)))
    return sess.run(None, dict(zip(names, inputs)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--output", action="append", default=[])
    a = ap.parse_args()
    try:
        import onnxruntime  # noqa: F401
    except ImportError as e:
        print("ort_run: onnxruntime not available: %s" % e, file=sys.stderr)
        return 3
    try:
        outs = run(a.model, [np.load(p) for p in a.input])
    except Exception as e:  # ORT raises its own exception types
        print("ort_run: %s: %s" % (a.model, e), file=sys.stderr)
        return 1
    if a.output and len(a.output) != len(outs):
        print("ort_run: model has %d outputs, %d --output given" % (len(outs), len(a.output)),
              file=sys.stderr)
        return 1
    for p, y in zip(a.output, outs):
        np.save(p, y)
    return 0


if __name__ == "__main__":
    sys.exit(main())
