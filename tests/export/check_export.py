#!/usr/bin/env python3
"""`jatp export` checked against onnx.checker and ONNX Runtime.

    check_export.py [BUILD_DIR] [FILTER]        (BUILD_DIR defaults to build)

Every builder model (`jatp export --model NAME [--config k=v]`) and every PyTorch-exported fixture in
tests/fixtures/models/*/ (`jatp export MODEL.onnx`) is exported, then:
  <case> checker     onnx.checker.check_model(full_check=True) accepts the file (IR 8, opset 17)
  <case> vs-ort      ONNX Runtime on the exported file gives jatp's output within 1e-5 relative L2
                     (`jatp run` on the exported file for builder models, on the original for fixtures)
  <case> roundtrip   import -> export -> import gives bitwise identical outputs: builder models are
                     exported a second time from the first file; fixtures compare the original file
                     with its export
Without onnx the checker cases are skips; without onnxruntime the vs-ort cases are skips (failures
when JATP_REQUIRE_ORT=1). Prints ok/FAIL/skip lines and `N passed, N failed, N skipped`.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "oracles"))
import ort_run  # noqa: E402
from check_ort import compare, fixture_dirs, model_path  # noqa: E402

MAX_REL = 1e-5
counts = [0, 0, 0]

# (case name, model, config settings, input shape without the batch)
BUILDER_CASES = [
    ("resnet18", "resnet18", [], (3, 32, 32)),
    ("resnet10-fm", "resnet10-fm", [], (1, 28, 28)),
    ("resnet10-fm-w8", "resnet10-fm-w8", [], (1, 28, 28)),
    ("resnet10-fm-w8-trainbn", "resnet10-fm-w8", ["bn=train"], (1, 28, 28)),
    ("nrp3", "nrp3", [], (3, 32, 32)),
    ("rrdb-m", "rrdb-m", [], (1, 28, 28)),
    ("rrdb-s", "rrdb-s", [], (1, 28, 28)),
    ("rrdb-s-rgb", "rrdb-s", ["c=3", "h=32", "w=32"], (3, 32, 32)),
    ("rrdb-s-symbolic-hw", "rrdb-s", ["h=0", "w=0"], (1, 20, 24)),
    ("dunet", "dunet", [], (3, 32, 32)),
    ("dunet-28", "dunet", ["c=1", "h=28", "w=28"], (1, 28, 28)),
    ("apeg-g", "apeg-g", [], (3, 32, 32)),
    ("apeg-g-28", "apeg-g", ["c=1", "h=28", "w=28"], (1, 28, 28)),
    ("apeg-d", "apeg-d", [], (3, 32, 32)),
    ("apeg-d-28", "apeg-d", ["c=1", "h=28", "w=28"], (1, 28, 28)),
    ("nrp-disc", "nrp-disc", [], (3, 32, 32)),
    ("nrp-disc-28", "nrp-disc", ["c=1", "h=28", "w=28", "ndf=8"], (1, 28, 28)),
]


def ok(name, note=""):
    counts[0] += 1
    print("ok %s%s" % (name, ("  (" + note + ")") if note else ""), flush=True)


def fail(name, why):
    counts[1] += 1
    lines = str(why).rstrip().split("\n")
    print("FAIL %s: %s" % (name, lines[0]), flush=True)
    for l in lines[1:]:
        print("    " + l, flush=True)


def skip(name, why):
    counts[2] += 1
    print("skip %s: %s" % (name, why), flush=True)


def run(cmd):
    """Returns (ok, message)."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return False, "timed out: " + " ".join(cmd)
    if r.returncode != 0:
        return False, "%s exited %d: %s" % (" ".join(cmd[:2]), r.returncode, r.stderr.strip()[-2000:])
    return True, ""


class Env:
    def __init__(self, build):
        self.jatp = os.path.join(build, "jatp")
        self.require_ort = os.environ.get("JATP_REQUIRE_ORT") == "1"
        try:
            import onnx  # noqa: F401
            self.onnx_err = None
        except ImportError as e:
            self.onnx_err = "onnx not importable by %s (%s)" % (sys.executable, e)
        try:
            import onnxruntime
            self.ort_err = None
            print("# onnxruntime %s" % onnxruntime.__version__)
        except ImportError as e:
            self.ort_err = "onnxruntime not importable by %s (%s); .ci/run installs it into .venv" % (sys.executable, e)

    def jatp_run(self, model, x_path, out_path):
        if os.path.exists(out_path):
            os.remove(out_path)
        good, msg = run([self.jatp, "run", model, "--input", x_path, "--output", out_path])
        if not good:
            return None, msg
        return np.load(out_path), ""


def check_checker(env, case, path):
    if env.onnx_err:
        skip(case + " checker", env.onnx_err)
        return
    import onnx
    try:
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        opsets = {(o.domain or "ai.onnx"): o.version for o in m.opset_import}
        if m.ir_version != 8 or opsets != {"ai.onnx": 17}:
            fail(case + " checker", "IR %d, opsets %s; expected IR 8 and ai.onnx 17 only" % (m.ir_version, opsets))
            return
        doms = sorted({n.domain for n in m.graph.node if n.domain not in ("", "ai.onnx")})
        if doms:
            fail(case + " checker", "non-standard node domains written: %s" % doms)
            return
        ok(case + " checker", "%d nodes, %d initializers" % (len(m.graph.node), len(m.graph.initializer)))
    except Exception as e:  # the checker raises its own exception types
        fail(case + " checker", "onnx.checker: %s" % e)


def check_ort(env, case, path, x, y):
    if env.ort_err:
        (fail if env.require_ort else skip)(case + " vs-ort", env.ort_err)
        return
    if y is None:
        fail(case + " vs-ort", "no jatp output to compare")
        return
    try:
        y_ort = ort_run.run(path, [x])[0]
    except Exception as e:
        fail(case + " vs-ort", "onnxruntime failed on the exported file: %s" % e)
        return
    good, msg, _ = compare(y, y_ort, MAX_REL, False)
    (ok if good else fail)(case + " vs-ort", msg)


def bitwise(case, a, b):
    name = case + " roundtrip"
    if a is None or b is None:
        fail(name, "missing output")
    elif a.dtype != b.dtype or a.shape != b.shape:
        fail(name, "dtype/shape %s %s vs %s %s" % (a.dtype, a.shape, b.dtype, b.shape))
    elif a.tobytes() != b.tobytes():
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        fail(name, "outputs differ; max abs difference %.3g at flat index %d" % (d.max(), int(d.argmax())))
    else:
        ok(name, "bitwise identical")


def builder_case(env, tmp, case, model, cfg, shape):
    m1 = os.path.join(tmp, case + ".onnx")
    m2 = os.path.join(tmp, case + ".2.onnx")
    cmd = [env.jatp, "export", "--model", model, "--seed", "3", "-o", m1]
    for c in cfg:
        cmd += ["--config", c]
    good, msg = run(cmd)
    if not good:
        fail(case + " export", msg)
        return
    check_checker(env, case, m1)
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    x = rng.random((2,) + shape, dtype=np.float64).astype(np.float32)
    x_path = os.path.join(tmp, "x.npy")
    np.save(x_path, x)
    y1, msg = env.jatp_run(m1, x_path, os.path.join(tmp, "y1.npy"))
    if y1 is None:
        fail(case + " vs-ort", "jatp run: " + msg)
    check_ort(env, case, m1, x, y1)
    good, msg = run([env.jatp, "export", m1, "-o", m2])
    if not good:
        fail(case + " roundtrip", "re-export: " + msg)
        return
    y2, msg = env.jatp_run(m2, x_path, os.path.join(tmp, "y2.npy"))
    if y2 is None:
        fail(case + " roundtrip", "jatp run on the re-export: " + msg)
        return
    bitwise(case, y1, y2)


def fixture_case(env, tmp, name, d):
    case = "fixture/" + name
    src = model_path(d)
    out = os.path.join(tmp, name.replace("/", "_") + ".onnx")
    good, msg = run([env.jatp, "export", src, "-o", out])
    if not good:
        fail(case + " export", msg)
        return
    check_checker(env, case, out)
    x_path = os.path.join(d, "input_b2.npy")
    if not os.path.exists(x_path):
        skip(case + " vs-ort", "no input_b2.npy")
        skip(case + " roundtrip", "no input_b2.npy")
        return
    x = np.load(x_path)
    y0, msg0 = env.jatp_run(src, x_path, os.path.join(tmp, "y0.npy"))
    y1, msg1 = env.jatp_run(out, x_path, os.path.join(tmp, "y1.npy"))
    if y0 is None or y1 is None:
        fail(case + " roundtrip", "jatp run: " + (msg0 or msg1))
    else:
        bitwise(case, y0, y1)
    check_ort(env, case, out, x, y0)


def main():
    args = list(sys.argv[1:])
    build = args.pop(0) if args else "build"
    filt = args.pop(0) if args else None
    env = Env(build)
    if not os.access(env.jatp, os.X_OK):
        fail("export", "%s not found or not executable (build first)" % env.jatp)
        print("%d passed, %d failed, %d skipped" % tuple(counts), flush=True)
        return 1
    tmp = tempfile.mkdtemp(prefix="jatp-export-")
    try:
        for case, model, cfg, shape in BUILDER_CASES:
            if filt and filt not in case:
                continue
            builder_case(env, tmp, case, model, cfg, shape)
        for name, d in fixture_dirs():
            if filt and filt not in name:
                continue
            fixture_case(env, tmp, name, d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed, %d skipped" % tuple(counts), flush=True)
    return 1 if counts[1] else 0


if __name__ == "__main__":
    sys.exit(main())
