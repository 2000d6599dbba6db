#!/usr/bin/python3
"""Checks ops/**/*.def against ONNX's operator schema history (Debian's python3-onnx).

For every ai.onnx operator the registry lists, every since_version <= 18 must have its own line
(JT_OP or JT_OP_NO), so a semantic change between versions never falls through to an older kernel.
Also checks that every listed (op, version) really exists in ONNX, and that no line is duplicated.
Prints one line per op and ends with `N passed, N failed, N skipped`.
"""
import glob
import os
import re
import sys

MAX_OPSET = 18
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
line_re = re.compile(r"^\s*JT_OP(_NO)?\s*\(\s*(\w+)\s*,\s*(\w+)\s*,\s*(\d+)\s*,")

try:
    import onnx.defs
except ImportError as e:  # counted skip: the CI installs python3-onnx, so this only happens locally
    print(f"skip onnx_schema: python3-onnx not importable ({e})")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)

history = {}
for s in onnx.defs.get_all_schemas_with_history():
    if s.domain in ("", "ai.onnx"):
        history.setdefault(s.name, set()).add(s.since_version)

# Debian's python3-onnx is 1.12 (opsets up to 17). Opset 18 (ONNX 1.13) added these versions, per
# ONNX's Changelog.md; they are merged in so that opset-18 exports resolve to their own entries.
OPSET18 = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
           "ReduceMin", "ReduceProd", "ReduceSumSquare", "Split", "Pad", "Resize", "ScatterElements",
           "ScatterND", "LpPool", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot",
           "CenterCropPad", "Col2Im", "GroupNormalization", "Mish", "OptionalHasElement",
           "OptionalGetElement"]
if max(max(v) for v in history.values()) < 18:
    for name in OPSET18:
        history.setdefault(name, set()).add(18)

listed = {}
dups = []
for path in sorted(glob.glob(os.path.join(root, "ops", "**", "*.def"), recursive=True)):
    for lineno, line in enumerate(open(path), 1):
        m = line_re.match(line)
        if not m or m.group(2) != "ONNX":
            continue
        key = (m.group(3), int(m.group(4)))
        if key in listed:
            dups.append(f"{path}:{lineno}: {key[0]}-{key[1]} listed twice")
        listed[key] = f"{os.path.relpath(path, root)}:{lineno}"

passed = failed = 0
for name in sorted({k[0] for k in listed}):
    have = {v for (n, v) in listed if n == name}
    want = {v for v in history.get(name, set()) if v <= MAX_OPSET}
    problems = []
    if name not in history:
        problems.append("not an ONNX operator")
    missing = sorted(want - have)
    if missing:
        problems.append("since_versions missing from the registry: " + ", ".join(map(str, missing)))
    bogus = sorted(v for v in have if v not in history.get(name, set()))
    if bogus:
        problems.append("listed versions that ONNX does not define: " + ", ".join(map(str, bogus)))
    if problems:
        failed += 1
        print(f"FAIL opsdef {name}: " + "; ".join(problems))
    else:
        passed += 1
        print(f"ok opsdef {name} ({', '.join(map(str, sorted(have)))})")
for d in dups:
    failed += 1
    print(f"FAIL opsdef duplicate: {d}")
print(f"{passed} passed, {failed} failed, 0 skipped")
sys.exit(1 if failed else 0)
