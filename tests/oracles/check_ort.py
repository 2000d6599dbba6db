#!/usr/bin/env python3
"""Model fixtures through the jatp CLI, checked against two oracles.

    check_ort.py [BUILD_DIR] [FILTER]        (BUILD_DIR defaults to build)

For every tests/fixtures/models/<name>/input_<tag>.npy (plus JATP_FULL_FIXTURES/<name>/ when set):
  <name>/<tag> cli-vs-torch   `BUILD_DIR/jatp run MODEL --input X --output Y`, Y vs the float64 torch
                              reference ref_<tag>.npy: relative L2 error <= 1e-5
  <name>/<tag> vs-ort         the same Y vs ONNX Runtime's output on the same model and input (<= 1e-5);
                              ONNX Runtime is also checked against the torch reference, so a broken
                              oracle fails loudly instead of excusing jatp.
Without onnxruntime the vs-ort cases are counted skips, failures when JATP_REQUIRE_ORT=1.
Prints `ok/FAIL/skip` lines and the closing `N passed, N failed, N skipped`.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import ort_run  # noqa: E402

MAX_REL = 1e-5
counts = [0, 0, 0]


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


def compare(got, ref, max_rel, allow_f64_ref):
    """Returns (ok, message, rel). Fails on dtype, shape, non-finite values."""
    if got.dtype != ref.dtype and not (allow_f64_ref and got.dtype == np.float32 and ref.dtype == np.float64):
        return False, "dtype mismatch: got %s, expected %s" % (got.dtype, ref.dtype), None
    if got.dtype.kind != "f":
        return False, "comparator handles float dtypes only, got %s" % got.dtype, None
    if got.shape != ref.shape:
        return False, "shape mismatch: got %s, expected %s" % (list(got.shape), list(ref.shape)), None
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    bad = ~np.isfinite(g) | ~np.isfinite(r)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        return False, "non-finite value at flat index %d: got %r, expected %r" % (
            i, g.ravel()[i], r.ravel()[i]), None
    d = g - r
    den = np.linalg.norm(r)
    rel = float(np.linalg.norm(d) / den) if den > 0 else float(np.linalg.norm(d))
    if not rel <= max_rel:
        i = int(np.argmax(np.abs(d).ravel()))
        idx = np.unravel_index(i, g.shape)
        return False, ("relative L2 error %.3g > %.3g; worst element at %d %s: got %.9g, expected %.9g, "
                       "abs err %.3g" % (rel, max_rel, i, list(map(int, idx)), g.ravel()[i], r.ravel()[i],
                                         abs(d.ravel()[i]))), rel
    return True, "rel L2 %.3g" % rel, rel


def fixture_dirs():
    out = []
    base = os.path.join(ROOT, "tests", "fixtures", "models")
    for n in sorted(os.listdir(base)):
        if os.path.isdir(os.path.join(base, n)):
            out.append((n, os.path.join(base, n)))
    full = os.environ.get("JATP_FULL_FIXTURES")
    if full and os.path.isdir(full):
        for n in sorted(os.listdir(full)):
            if os.path.isdir(os.path.join(full, n)):
                out.append(("full/" + n, os.path.join(full, n)))
    return out


def model_path(d):
    p = os.path.join(d, "model_path.txt")
    if os.path.exists(p):
        with open(p) as f:
            return os.path.join(ROOT, f.read().strip())
    return os.path.join(d, "model.onnx")


def max_rel_for(d):
    p = os.path.join(d, "tolerance.txt")
    if os.path.exists(p):
        with open(p) as f:
            return float(f.read().split()[0])
    return MAX_REL


def main():
    args = [a for a in sys.argv[1:]]
    build = args.pop(0) if args else "build"
    filt = args.pop(0) if args else None
    jatp = os.path.join(build, "jatp")
    require_ort = os.environ.get("JATP_REQUIRE_ORT") == "1"
    try:
        import onnxruntime
        ort_err = None
        print("# onnxruntime %s" % onnxruntime.__version__)
    except ImportError as e:
        ort_err = "onnxruntime not importable by %s (%s); .ci/run installs it into .venv" % (sys.executable, e)

    tmp = tempfile.mkdtemp(prefix="jatp-ort-")
    try:
        for name, d in fixture_dirs():
            model = model_path(d)
            max_rel = max_rel_for(d)
            tags = sorted(f[len("input_"):-len(".npy")] for f in os.listdir(d)
                          if f.startswith("input_") and f.endswith(".npy"))
            for tag in tags:
                case = "%s/%s" % (name, tag)
                if filt and filt not in case:
                    continue
                x = np.load(os.path.join(d, "input_%s.npy" % tag))
                ref = np.load(os.path.join(d, "ref_%s.npy" % tag))
                out = os.path.join(tmp, "out.npy")
                if os.path.exists(out):
                    os.remove(out)
                got = None
                if not os.access(jatp, os.X_OK):
                    fail(case + " cli-vs-torch", "%s not found or not executable (build first)" % jatp)
                else:
                    try:
                        r = subprocess.run([jatp, "run", model, "--input", os.path.join(d, "input_%s.npy" % tag),
                                            "--output", out], capture_output=True, text=True, timeout=600)
                    except subprocess.TimeoutExpired:
                        r = None
                    if r is None:
                        fail(case + " cli-vs-torch", "jatp run timed out")
                    elif r.returncode != 0:
                        fail(case + " cli-vs-torch", "jatp run exited %d: %s" % (r.returncode, r.stderr.strip()[-2000:]))
                    elif not os.path.exists(out):
                        fail(case + " cli-vs-torch", "jatp run exited 0 but wrote no %s" % out)
                    else:
                        got = np.load(out)
                        good, msg, _ = compare(got, ref, max_rel, True)
                        (ok if good else fail)(case + " cli-vs-torch", msg)
                if ort_err:
                    (fail if require_ort else skip)(case + " vs-ort",
                                                    ort_err + ("; JATP_REQUIRE_ORT=1" if require_ort else ""))
                    continue
                try:
                    y_ort = ort_run.run(model, [x])[0]
                except Exception as e:
                    fail(case + " vs-ort", "onnxruntime failed: %s" % e)
                    continue
                good, msg, _ = compare(y_ort, ref, max_rel, True)
                if not good:
                    fail(case + " vs-ort", "oracle broken: onnxruntime vs torch float64: " + msg)
                    continue
                if got is None:
                    fail(case + " vs-ort", "no jatp output to compare (see cli-vs-torch)")
                    continue
                good, msg, _ = compare(got, y_ort, max_rel, False)
                (ok if good else fail)(case + " vs-ort", msg)
    finally:
        for f in os.listdir(tmp):
            os.remove(os.path.join(tmp, f))
        os.rmdir(tmp)
    print("%d passed, %d failed, %d skipped" % tuple(counts), flush=True)
    return 1 if counts[1] else 0


if __name__ == "__main__":
    sys.exit(main())
