#!/usr/bin/env python3
"""Attack throughput: `jatp attack` vs torchattacks, PGD-40 on F = T∘P, same model, batch and threads.

Run with the project's venv (torchattacks there; torch and onnx from Debian):

    .venv/bin/python benchmarks/attack_bench.py                        # all rows, batch 32, 2 threads
    .venv/bin/python benchmarks/attack_bench.py --rows cnn28,resnet18+P --batch 64 --threads 2

Rows (T: classifier, P: denoiser in front of it; every model built in PyTorch with a fixed seed,
random weights (throughput does not depend on them), eval mode, exported to ONNX at opset 17 with a
dynamic batch axis, BN folded):
  cnn28        T = the 1x28x28 CNN of tests/attacks/ta_models.py (about 0.16 MFLOP per image)
  cnn28+P      P = NRP-style RRDB purifier rrdb-s (C=1, nf=16, gc=8, nb=1; tests/fixtures/gen_models.py)
  resnet18     T = ResNet-18 CIFAR (kuangliu layout, width 64; gen_models.resnet18), 3x32x32
  resnet18+P   P = rrdb-s with C=3 in front of it
Attack: L-inf PGD, eps 8/255, step 0.01, 40 steps, uniform random start, CE (the paper's PGD column):
  jatp          `jatp attack --target T.onnx [--defense P.onnx] --attack pgd --steps 40 ...
                 --batch B --threads T --json`; examples/s from the summary (attack time, the model
                 load and plan building excluded) and, in brackets, from the wall time of the whole
                 process;
  torchattacks  torchattacks.PGD on nn.Sequential(P, T) with torch.set_num_threads(T), parameters
                 frozen (requires_grad False), the same N images in batches of B; examples/s = N / time.
Labels are T∘P's own clean predictions, so every point is attacked on both sides (jatp skips clean
mistakes). N = --batches x B images, uniform in [0,1). One timed run per side (PGD-40 is long enough;
torch gets one warm-up step first). Prints a table (ratio = jatp ex/s / torchattacks ex/s: > 1 means
jatp is faster, with the 1-minute load average before, between and after the two runs) and writes
benchmarks/results/attack-<date>.json (schema jatp.attack-bench/1). Run it on a quiet machine: with
other processes on the cores, PyTorch's OpenMP threads spin at barriers and a 2-thread run with small
batches can be tens of times slower than usual (1 thread is much less affected); where the machine
cannot be quiet, --omp-passive sets OMP_WAIT_POLICY=PASSIVE for torch, which avoids most of that.
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
sys.path.insert(0, os.path.join(ROOT, "tests", "attacks"))

if "--omp-passive" in sys.argv:  # must be set before torch starts its OpenMP runtime
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import gen_models as gm  # noqa: E402
import ta_models as tm  # noqa: E402

EPS = 8 / 255
ALPHA = 0.01
STEPS = 40


def make_row(name):
    """(T, P or None, image shape)"""
    torch.manual_seed(gm.SEED)
    if name.startswith("cnn28"):
        T, shape = tm.CNN28(), (1, 28, 28)
    elif name.startswith("resnet18"):
        T, shape = gm.resnet18(64), (3, 32, 32)
        gm.randomize_bn(T, torch.Generator().manual_seed(gm.SEED))
    else:
        raise SystemExit("attack_bench.py: unknown row '%s'" % name)
    P = gm.Purifier(c=shape[0], nf=16, gc=8, nb=1) if name.endswith("+P") else None
    return T.eval(), (P.eval() if P is not None else None), shape


def flat_summary(s):
    out = dict(s)
    atk = s.get("attacks")
    if isinstance(atk, list) and len(atk) == 1 and isinstance(atk[0], dict):
        out.update(atk[0])
    return out


def bench_jatp(jatp, t_path, p_path, xp, yp, batch, threads, tmp):
    out, js = os.path.join(tmp, "adv.npy"), os.path.join(tmp, "summary.json")
    cmd = [jatp, "attack", "--target", t_path]
    if p_path:
        cmd += ["--defense", p_path]
    cmd += ["--images", xp, "--labels", yp, "--attack", "pgd", "--eps", repr(EPS), "--step-size", repr(ALPHA),
            "--steps", str(STEPS), "--random-start", "--loss", "ce", "--seed", "0", "--batch", str(batch),
            "--threads", str(threads), "--out", out, "--json", js, "--quiet"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit("attack_bench.py: jatp attack exited %d: %s\n%s" % (r.returncode, r.stderr.strip()[-2000:],
                                                                            " ".join(cmd)))
    with open(js) as f:
        s = flat_summary(json.load(f))
    return s, wall


def bench_torch(model, x, y, batch, threads):
    import torchattacks
    torch.set_num_threads(threads)
    atk = torchattacks.PGD(model, eps=EPS, alpha=ALPHA, steps=STEPS, random_start=True)
    torchattacks.PGD(model, eps=EPS, alpha=ALPHA, steps=1, random_start=True)(x[:batch], y[:batch])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(x), batch):
        atk(x[i:i + batch], y[i:i + batch])
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="cnn28,cnn28+P,resnet18,resnet18+P")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="cnn=8,resnet=1",
                    help="batches per row: a number, or cnn=K,resnet=K (default cnn=8,resnet=1)")
    ap.add_argument("--omp-passive", action="store_true",
                    help="OMP_WAIT_POLICY=PASSIVE for torch (on a shared, loaded machine; see above)")
    ap.add_argument("--jatp", default=os.path.join(ROOT, "build", "jatp"))
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = ap.parse_args()
    try:
        import torchattacks
    except ImportError as e:
        raise SystemExit("attack_bench.py: torchattacks not importable by %s (%s); run scripts/install-deps and use "
                         ".venv/bin/python" % (sys.executable, e))
    if "=" in args.batches:
        nb = {k: int(v) for k, v in (kv.split("=") for kv in args.batches.split(","))}
    else:
        nb = {"cnn": int(args.batches), "resnet": int(args.batches)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.rows.split(","):
            T, P, shape = make_row(name)
            t_path = os.path.join(tmp, "T.onnx")
            gm.export(T, shape, t_path)
            p_path = None
            if P is not None:
                p_path = os.path.join(tmp, "P.onnx")
                gm.export(P, shape, p_path)
            F = nn.Sequential(P, T) if P is not None else T
            F.eval()
            for p in F.parameters():
                p.requires_grad_(False)
            n = args.batch * nb["cnn" if name.startswith("cnn") else "resnet"]
            x = np.random.default_rng(0).random((n,) + shape, dtype=np.float32)
            torch.set_num_threads(args.threads)
            with torch.no_grad():
                y = torch.cat([F(torch.from_numpy(x[i:i + args.batch])).argmax(1)
                               for i in range(0, n, args.batch)]).numpy().astype(np.int64)
            xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
            np.save(xp, x)
            np.save(yp, y)
            load0 = os.getloadavg()[0]
            s, wall = bench_jatp(args.jatp, t_path, p_path, xp, yp, args.batch, args.threads, tmp)
            load1 = os.getloadavg()[0]
            tt = bench_torch(F, torch.from_numpy(x), torch.from_numpy(y), args.batch, args.threads)
            load2 = os.getloadavg()[0]
            j_eps = float(s["examples_per_second"])
            t_eps = n / tt
            rows.append(dict(row=name, n=n, batch=args.batch, threads=args.threads, steps=STEPS,
                             jatp_clean_accuracy=s.get("clean_accuracy"), jatp_seconds=s.get("seconds"),
                             jatp_wall_seconds=wall, jatp_ex_per_s=j_eps, jatp_wall_ex_per_s=n / wall,
                             torch_seconds=tt, torch_ex_per_s=t_eps, ratio=j_eps / t_eps,
                             loadavg_1min=[load0, load1, load2]))
            print("  measured %s: jatp %.1f s (wall %.1f s), torchattacks %.1f s" %
                  (name, float(s.get("seconds", 0)), wall, tt), file=sys.stderr, flush=True)
    print("PGD-%d (eps 8/255, step 0.01, random start) examples/s; ratio = jatp / torchattacks (> 1: jatp faster)"
          % STEPS)
    print("%-12s %5s %5s %3s %22s %17s %7s  %s" % ("model", "N", "batch", "thr", "jatp ex/s (wall)",
                                                  "torchattacks ex/s", "ratio", "load avg before/between/after"))
    for r in rows:
        print("%-12s %5d %5d %3d %10.2f (%9.2f) %17.2f %7.2f  %s" % (
            r["row"], r["n"], r["batch"], r["threads"], r["jatp_ex_per_s"], r["jatp_wall_ex_per_s"],
            r["torch_ex_per_s"], r["ratio"], "/".join("%.1f" % v for v in r["loadavg_1min"])))
    print("torch %s, torchattacks %s, OMP_WAIT_POLICY %s; jatp clean accuracy on the labels (= points attacked): %s" %
          (torch.__version__, torchattacks.__version__, os.environ.get("OMP_WAIT_POLICY", "default"),
           ", ".join("%.3f" % (r["jatp_clean_accuracy"] or 0) for r in rows)))
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(args.out, "attack-%s.json" % stamp)
    with open(path, "w") as f:
        json.dump(dict(schema="jatp.attack-bench/1", attack="pgd", steps=STEPS, eps=EPS, step_size=ALPHA,
                       omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", "default"), cpus=os.cpu_count(),
                       torch=torch.__version__, torchattacks=torchattacks.__version__, rows=rows), f, indent=1)
    print("wrote %s" % os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
