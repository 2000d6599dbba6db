#!/usr/bin/env python3
"""PyTorch on the GPU, eager and torch.compile: the peer of `jatp bench --device cuda` (tools/gpu-check.sh).

    python3 benchmarks/peers/torch_gpu.py [--modes eager,compile] [--budget S] [--json FILE] [--quick]

Rows (same models as jatp's builders, through torch_bench.py's build_model and tests/models_build):
  resnet18  fwd, fwdbwd   batch 128, 512   (CIFAR ResNet-18, 3x32x32)
  nrp3      fwd, fwdbwd   batch 128, 512   (3-block RRDB denoiser, nf 64, gc 32, 3x32x32)
  jatp-step step          batch 128        one JATP training step: feature-space PGD (10 steps, eps 8/255,
                                           step 0.01, random start; P and T eval, gradient to x only),
                                           then P on [x~, x], frozen T, the JATP loss (alpha 5, beta 3),
                                           backward to P, global-norm clipping 1.0, SGD (lr 1e-2,
                                           momentum 0.9, wd 2e-4)  (../shared/reference/models.md 4, 5.4)
fwd: eval, no_grad; fwdbwd: eval, backward of a fixed random cotangent w.r.t. input and parameters (as
torch_bench.py). TF32 off (torch.backends.*.allow_tf32 = False), cudnn.benchmark on (jatp caches its
algorithm choice per shape too). Timing: warm-up 3, then runs until 1 s and 10 runs, each ended by
torch.cuda.synchronize(); median, p10, p90 in ms. FLOPs per row from torch.utils.flop_counter (eager),
TFLOP/s from the median. `compile` uses torch.compile(module) (default mode); its compile time is
reported separately. Rows past --budget seconds are recorded as skipped (GPU time is scarce).
"""
import argparse
import datetime
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
DEV = "cuda"


def sync():
    import torch
    if DEV == "cuda":
        torch.cuda.synchronize()


def timeit(fn, warmup=3, min_time=1.0, min_runs=10):
    import torch
    for _ in range(warmup):
        fn()
    sync()
    ts = []
    while len(ts) < min_runs or sum(ts) < min_time:
        t = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t)
    ts.sort()
    n = len(ts)
    med = ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])
    return dict(runs=n, ms_median=med * 1e3, ms_p10=ts[(n - 1) // 10] * 1e3,
                ms_p90=ts[min(n - 1, ((n - 1) * 9 + 9) // 10)] * 1e3, ms_best=ts[0] * 1e3)


def count_flops(fn):
    try:
        from torch.utils.flop_counter import FlopCounterMode
        with FlopCounterMode(display=False) as fc:
            fn()
        return float(fc.get_total_flops())
    except Exception as e:  # noqa: BLE001 - the count is informative only
        print("torch_gpu: flop count failed: %s" % e, file=sys.stderr)
        return 0.0


def model_fn(name, batch, pas, mode):
    import torch
    from torch_bench import build_model
    torch.manual_seed(0)
    m, shape, _ = build_model(name)
    m = m.to(DEV)
    x = torch.rand((batch,) + shape, device=DEV)
    run = torch.compile(m) if mode == "compile" else m
    if pas == "fwd":
        m.eval()

        def fn():
            with torch.no_grad():
                run(x)
    else:
        m.eval()
        xr = x.clone().requires_grad_(True)
        with torch.no_grad():
            dy = torch.rand_like(m(x))
        params = list(m.parameters())

        def fn():
            xr.grad = None
            for p in params:
                p.grad = None
            run(xr).backward(dy)
    return fn


def jatp_step_fn(batch, mode, pgd_steps=10, eps=8 / 255, alpha=0.01):
    import torch
    from torch_bench import build_model, jatp_loss
    torch.manual_seed(0)
    T, tshape, _ = build_model("resnet18")
    P, _, _ = build_model("nrp3:c=%d,h=%d,w=%d" % tshape)
    T, P = T.to(DEV).eval(), P.to(DEV)
    for p in T.parameters():
        p.requires_grad_(False)
    feats = {}
    T.layer3[-1].bn2.register_forward_hook(lambda mod, i, o: feats.__setitem__("tap", o))

    class TTap(torch.nn.Module):
        def __init__(self, t):
            super().__init__()
            self.t = t

        def forward(self, v):
            z = self.t(v)
            return z, feats["tap"]
    tt = TTap(T)
    Pr = torch.compile(P) if mode == "compile" else P
    Tr = torch.compile(tt) if mode == "compile" else tt
    B = batch
    x = torch.rand((B,) + tshape, device=DEV)
    y = (torch.arange(B, device=DEV) * 7 + 3) % 10
    opt = torch.optim.SGD(P.parameters(), lr=1e-2, momentum=0.9, weight_decay=2e-4)
    params = list(P.parameters())

    def fn():
        P.eval()
        with torch.no_grad():
            _, f0 = Tr(Pr(x))
            f0 = f0.detach()
        xa = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(pgd_steps):
            xa.requires_grad_(True)
            _, tap = Tr(Pr(xa))
            lf = ((tap - f0) ** 2).flatten(1).mean(1).sum()
            g, = torch.autograd.grad(lf, xa)
            xa = torch.min(torch.max(xa.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
        P.train()
        opt.zero_grad(set_to_none=True)
        p = Pr(torch.cat([xa, x], 0))
        z, tap = Tr(p)
        loss = jatp_loss(z[:B], z[B:], tap[:B], tap[B:], p[:B], x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    return fn


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", default="eager,compile")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds; later rows are skipped")
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="batch 128 only, fwd only (a smoke run)")
    ap.add_argument("--device", default="cuda", help="cuda; cpu only to smoke-test this script")
    ap.add_argument("--batches", default="128,512")
    ap.add_argument("--pgd-steps", type=int, default=10)
    a = ap.parse_args()
    global DEV
    DEV = a.device
    import torch
    if DEV == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_gpu: torch sees no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    cases = []
    for name in ("resnet18", "nrp3"):
        for b in (128,) if a.quick else [int(v) for v in a.batches.split(",")]:
            for pas in ("fwd",) if a.quick else ("fwd", "fwdbwd"):
                cases.append((name, b, pas))
    if not a.quick:
        cases.append(("jatp-step", int(a.batches.split(",")[0]), "step"))
    t_start = time.time()
    rows = []
    for mode in a.modes.split(","):
        for name, b, pas in cases:
            r = dict(case=name, batch=b, mode=mode)
            r["pass"] = pas
            if time.time() - t_start > a.budget:
                r["skipped"] = "time budget of %.0f s spent" % a.budget
                rows.append(r)
                print("%-9s %-10s b%-4d %-6s skipped (budget)" % (mode, name, b, pas), flush=True)
                continue
            try:
                fn = jatp_step_fn(b, mode, a.pgd_steps) if name == "jatp-step" else model_fn(name, b, pas, mode)
                t0 = time.time()
                fn()
                sync()
                r["first_call_s"] = time.time() - t0  # includes compilation in compile mode
                if mode == "eager":
                    r["flop"] = count_flops(fn)
                r.update(timeit(fn))
            except Exception as e:  # noqa: BLE001 - one failed row must not lose the others
                r["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
            rows.append(r)
            if DEV == "cuda":
                torch.cuda.empty_cache()
            if "ms_median" in r:
                print("%-9s %-10s b%-4d %-6s %9.3f ms  (p10 %.3f, p90 %.3f, %d runs; first call %.1f s)" % (
                    mode, name, b, pas, r["ms_median"], r["ms_p10"], r["ms_p90"], r["runs"], r["first_call_s"]),
                    flush=True)
            else:
                print("%-9s %-10s b%-4d %-6s %s" % (mode, name, b, pas, r.get("error")), flush=True)
    flops = {(r["case"], r["batch"], r["pass"]): r.get("flop") for r in rows if r.get("flop")}
    for r in rows:
        f = flops.get((r["case"], r["batch"], r["pass"]))
        if f and "ms_median" in r:
            r["flop"] = f
            r["tflops"] = f / (r["ms_median"] * 1e-3) / 1e12
    doc = dict(schema="jatp.torch_gpu/1", date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
               torch=torch.__version__, cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
               device=torch.cuda.get_device_name(0) if DEV == "cuda" else "cpu", tf32=False, rows=rows)
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, a.json)


if __name__ == "__main__":
    main()
