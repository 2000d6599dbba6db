#!/usr/bin/env python3
"""Initializer storage forms: a fixture model re-saved with its weights as (a) external data in one
file with offsets, (b) one external file per tensor, (c) typed repeated fields (float_data /
int64_data) instead of raw_data, must give jatp outputs bitwise equal to the original file's.
Usage: check_storage.py BUILD_DIR. Prints ok/FAIL lines and the count line."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures", "models", "resnet18_w8_bn")


def run(jatp, model, x, out):
    r = subprocess.run([jatp, "run", model, "--input", x, "--output", out], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return np.load(out)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    jatp = os.path.join(build, "jatp")
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        x = os.path.join(FIX, "input_b2.npy")
        ref = run(jatp, os.path.join(FIX, "model.onnx"), x, os.path.join(tmp, "ref.npy"))
        cases = {}
        m = onnx.load(os.path.join(FIX, "model.onnx"))
        d = os.path.join(tmp, "one_file")
        os.makedirs(d)
        onnx.save_model(m, os.path.join(d, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="weights.bin", size_threshold=0)
        cases["external data, one file with offsets"] = os.path.join(d, "model.onnx")
        m = onnx.load(os.path.join(FIX, "model.onnx"))
        d = os.path.join(tmp, "per_tensor")
        os.makedirs(d)
        onnx.save_model(m, os.path.join(d, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=False,
                        size_threshold=0)
        cases["external data, one file per tensor"] = os.path.join(d, "model.onnx")
        m = onnx.load(os.path.join(FIX, "model.onnx"))
        typed = []
        for t in m.graph.initializer:
            a = numpy_helper.to_array(t)
            nt = onnx.helper.make_tensor(t.name, t.data_type, a.shape, a.flatten().tolist(), raw=False)
            typed.append(nt)
        del m.graph.initializer[:]
        m.graph.initializer.extend(typed)
        p = os.path.join(tmp, "typed.onnx")
        onnx.save_model(m, p)
        cases["typed fields (float_data, int64_data)"] = p
        for name, path in cases.items():
            try:
                y = run(jatp, path, x, os.path.join(tmp, "y.npy"))
                if y.dtype == ref.dtype and y.shape == ref.shape and np.array_equal(y, ref):
                    print(f"ok storage/{name}")
                    passed += 1
                else:
                    print(f"FAIL storage/{name}: output differs from the raw_data model "
                          f"(max abs diff {np.max(np.abs(y - ref)) if y.shape == ref.shape else 'shape'})")
                    failed += 1
            except RuntimeError as e:
                print(f"FAIL storage/{name}: {e}")
                failed += 1
    print(f"{passed} passed, {failed} failed, 0 skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
