#!/usr/bin/env python3
"""PyTorch peer of `jatp bench`: the same cases, passes and table/JSON format (schema jatp.bench/2,
backend "torch").

    .venv/bin/python benchmarks/peers/torch_bench.py --cases benchmarks/cases/resnet18_convs.txt --threads 2
    .venv/bin/python benchmarks/peers/torch_bench.py --op Conv --shape 32,64,32,32:64,64,3,3 \\
        --attrs "strides=1,1 pads=1,1,1,1" --pass fwd,bwd_data,bwd_filter
    .venv/bin/python benchmarks/peers/torch_bench.py --model resnet10-fm --batch 128 --pass fwd,fwdbwd,step
    .venv/bin/python benchmarks/peers/torch_bench.py --jatp-step resnet10-fm --denoiser rrdb-s --batch 128

Definitions (kept equal to jatp's, tools/bench_model.c and tools/bench_ops.c):
- models: the builder models' PyTorch twins from tests/models_build/check_models.py (same layers,
  names and module structure);
- fwd: eval mode, no_grad; fwdbwd: eval mode, backward of a fixed random cotangent on the output
  w.r.t. the input and all parameters; step: train mode (BatchNorm batch statistics), cross-entropy on
  fixed labels (classifiers) or MSE to a random target (image-to-image models), backward, SGD
  (lr 1e-3, momentum 0.9, wd 5e-4);
- JATP step: x~ and x concatenated, P then T (eval, frozen, requires_grad False) once on 2B images,
  JATP loss (alpha 5, beta 3: BCE of MART + alpha * FSM on T's tap * (1 - p_y(T(P(x)))) + beta * MSE),
  backward to P's parameters, global-norm clipping at 1.0, SGD (lr 1e-2, momentum 0.9, wd 2e-4); no
  attack in the timed step;
- op passes: fwd times the op; bwd_data / bwd_filter / bwd time torch.autograd.grad of the op's
  output (given dY) w.r.t. input 0 / input 1 / all inputs, on a graph kept with retain_graph (the
  forward is not in the timing), i.e. the same kernels PyTorch training uses.
Timing: warm-up, then repeated runs until --min-time seconds and --min-runs runs; median, p10, p90
(nearest rank, as jatp). FLOPs: Conv/ConvTranspose/Gemm/MatMul 2 x multiply-adds (the same count as
jatp's cost functions, for each pass); other ops 1 per output element; model rows: not counted here
(benchmarks/run_all.sh takes jatp's count for both sides).
"""
import argparse
import datetime
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "models_build"))

KIND = {"resnet18": "resnet", "resnet10-fm": "resnet", "resnet10-fm-w8": "resnet", "nrp3": "rrdb",
        "rrdb-m": "rrdb", "rrdb-s": "rrdb", "dunet": "dunet", "apeg-g": "apeg-g", "apeg-d": "apeg-d",
        "nrp-disc": "nrp-disc"}
WEIGHTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def timeit(fn, a):
    for _ in range(a.warmup):
        fn()
    ts = []
    while len(ts) < a.min_runs or sum(ts) < a.min_time:
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    ts.sort()
    n = len(ts)
    med = ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])
    return dict(runs=n, med=med, p10=ts[(n - 1) // 10], p90=ts[min(n - 1, ((n - 1) * 9 + 9) // 10)], best=ts[0])


def row(op, shape, pas, st, flops=0.0, nbytes=0.0, batch=0):
    return dict(op=op, shape=shape, pass_=pas, st=st, flops=flops, bytes=nbytes, batch=batch)


# ---------------------------------------------------------------- models

def parse_spec(spec):
    name, _, rest = spec.partition(":")
    kvs = []
    for tok in rest.split(",") if rest else []:
        if "=" not in tok and kvs:
            kvs[-1] += "," + tok
        else:
            kvs.append(tok)
    return name, kvs


def build_model(spec):
    import check_models as cm
    name, kvs = parse_spec(spec)
    if name not in KIND:
        sys.exit("torch_bench: unknown model '%s' (%s)" % (name, ", ".join(KIND)))
    p = dict(cm.PRESETS[name])
    p.setdefault("h", 32 if p["c"] == 3 else 28)
    p.setdefault("w", p["h"])
    bn = None
    for kv in kvs:
        k, v = kv.split("=", 1)
        if k == "bn":
            bn = v
        elif k == "blocks":
            p["blocks"] = [int(b) for b in v.split(",")]
        elif k in ("c", "h", "w", "nf", "gc", "nb", "ndf", "base"):
            p[k] = int(v)
        else:
            sys.exit("torch_bench: model key '%s' not supported here" % k)
    M = cm.modules()
    kind = KIND[name]
    if kind == "resnet":
        m = M["resnet"](p["c"], p["base"], p["blocks"])
    elif kind == "rrdb":
        m = M["rrdb"](p["c"], p["nf"], p["gc"], p["nb"])
    elif kind == "dunet":
        m = M["dunet"](p["c"])
    elif kind == "apeg-g":
        m = M["apegg"](p["c"])
    elif kind == "apeg-d":
        m = M["aped"](p["c"], p["h"], p["w"])
    else:
        m = M["nrpdisc"](p["c"], p["h"], p["w"], p["ndf"])
    return m, (p["c"], p["h"], p["w"]), bn


def bench_model(a, pas):
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    m, shape, bn = build_model(a.model)
    x = torch.rand((a.batch,) + shape)
    shp = ",".join(str(d) for d in (a.batch,) + shape)
    if pas == "fwd":
        m.eval()

        def fn():
            with torch.no_grad():
                m(x)
    elif pas == "fwdbwd":
        m.train(bn == "train")
        xr = x.clone().requires_grad_(True)
        with torch.no_grad():
            dy = torch.rand_like(m(x))
        params = list(m.parameters())

        def fn():
            xr.grad = None
            for p in params:
                p.grad = None
            m(xr).backward(dy)
    elif pas == "step":
        m.train(bn != "eval")
        with torch.no_grad():
            out = m(x)
        opt = torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
        if out.dim() == 2:
            y = (torch.arange(a.batch) * 7 + 3) % out.shape[1]

            def loss_fn(o):
                return F.cross_entropy(o, y)
        else:
            t = torch.rand_like(out)

            def loss_fn(o):
                return F.mse_loss(o, t)

        def fn():
            opt.zero_grad(set_to_none=True)
            loss_fn(m(x)).backward()
            opt.step()
    else:
        sys.exit("torch_bench: unknown model pass '%s' (fwd, fwdbwd, step)" % pas)
    return row(a.model, shp, pas, timeit(fn, a), batch=a.batch)


def jatp_loss(za, zn, ta, tn, pa, x, y, alpha=5.0, beta=3.0):
    """models.md section 4: mean_i [BCE(za, y) + alpha FSM_i w_i] + beta MSE(pa, x); BCE as in MART."""
    import torch
    import torch.nn.functional as F
    probs = F.softmax(za, dim=1)
    top2 = torch.argsort(probs, dim=1)[:, -2:]
    k_star = torch.where(top2[:, -1] == y, top2[:, -2], top2[:, -1])
    bce = F.cross_entropy(za, y, reduction="none") + F.nll_loss(torch.log(1.0001 - probs + 1e-12), k_star,
                                                                reduction="none")
    fsm = ((ta - tn) ** 2).flatten(1).mean(1)
    w = 1.0 - F.softmax(zn, dim=1).gather(1, y[:, None])[:, 0]
    return (bce + alpha * fsm * w).mean() + beta * F.mse_loss(pa, x)


def bench_jatp_step(a):
    import torch
    torch.manual_seed(0)
    T, tshape, _ = build_model(a.jatp_step)
    P, _, _ = build_model("%s%sc=%d,h=%d,w=%d" % (a.denoiser, "," if ":" in a.denoiser else ":", *tshape))
    T.eval()
    for p in T.parameters():
        p.requires_grad_(False)
    P.train()
    layer3 = T.layer3
    feats = {}
    layer3[-1].bn2.register_forward_hook(lambda mod, i, o: feats.__setitem__("tap", o))
    B = a.batch
    x = torch.rand((B,) + tshape)
    xa = (x + 0.2 * torch.rand_like(x) - 0.1).clamp(0, 1)
    y = (torch.arange(B) * 7 + 3) % 10
    opt = torch.optim.SGD(P.parameters(), lr=1e-2, momentum=0.9, weight_decay=2e-4)
    params = list(P.parameters())

    def fn():
        opt.zero_grad(set_to_none=True)
        p = P(torch.cat([xa, x], 0))
        z = T(p)
        tap = feats["tap"]
        loss = jatp_loss(z[:B], z[B:], tap[:B], tap[B:], p[:B], x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    label = "jatp-step P=%s T=%s" % (a.denoiser, a.jatp_step)
    return row(label, ",".join(str(d) for d in (B,) + tshape), "step", timeit(fn, a), batch=B)


# ---------------------------------------------------------------- ops

def parse_attrs(s):
    out = {}
    for tok in (s or "").split():
        k, v = tok.split("=", 1)
        if "," in v or k in ("strides", "pads", "dilations", "kernel_shape", "axes", "perm"):
            out[k] = [float(t) if ("." in t or "e" in t) else int(t) for t in v.split(",") if t]
        else:
            try:
                out[k] = int(v)
            except ValueError:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
    return out


def op_case(op, shape, attrs):
    """Returns (fn(*inputs) -> output, inputs, flops per pass, weight index or None)."""
    import torch
    import torch.nn.functional as F
    groups = [[int(d) for d in g.split(",")] for g in shape.split(":")]
    at = parse_attrs(attrs)
    gen = torch.Generator().manual_seed(1)

    def rnd(dims):
        return torch.rand(dims, generator=gen)
    if op in ("Gemm", "MatMul") and len(groups) == 1 and len(groups[0]) == 3:
        M, N, K = groups[0]
        groups = [[M, K], [K, N]]
    if op == "BatchNormalization" and len(groups) == 1:
        C = groups[0][1]
        groups += [[C]] * 4
    ins = [rnd(g) for g in groups]
    if op == "BatchNormalization":
        ins[4] = ins[4] + 0.5
    if op == "Conv":
        x, w = ins[0], ins[1]
        nsp = x.dim() - 2
        st = at.get("strides", [1] * nsp)
        pads = at.get("pads", [0] * 2 * nsp)
        if pads[:nsp] != pads[nsp:]:
            sys.exit("torch_bench: asymmetric pads not supported")
        dil = at.get("dilations", [1] * nsp)
        grp = at.get("group", 1)
        conv = F.conv2d if nsp == 2 else F.conv1d if nsp == 1 else F.conv3d

        def fn(*t):
            return conv(t[0], t[1], t[2] if len(t) > 2 else None, st, pads[:nsp], dil, grp)
        with torch.no_grad():
            y = fn(*ins)
        flops = 2.0 * y.numel() * w.shape[1] * int(np.prod(w.shape[2:]))
        return fn, ins, flops
    if op in ("Gemm", "MatMul"):
        ta, tb = at.get("transA", 0), at.get("transB", 0)
        alpha = at.get("alpha", 1.0)

        def fn(*t):
            A = t[0].t() if ta else t[0]
            Bm = t[1].t() if tb else t[1]
            return A @ Bm if alpha == 1.0 else alpha * (A @ Bm)
        with torch.no_grad():
            y = fn(*ins)
        k = ins[0].shape[0] if ta else ins[0].shape[-1]
        return fn, ins, 2.0 * y.numel() * k
    if op == "BatchNormalization":
        eps = at.get("epsilon", 1e-5)

        def fn(x, s, b, mean, var):
            return F.batch_norm(x, mean, var, s, b, False, 0.0, eps)
        return fn, ins, 2.0 * ins[0].numel()
    unary = {
        "Relu": F.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "Exp": torch.exp, "Abs": torch.abs,
        "Neg": torch.neg, "Sqrt": torch.sqrt, "Log": torch.log, "Identity": lambda t: t.clone(),
        "LeakyRelu": lambda t: F.leaky_relu(t, at.get("alpha", 0.01)),
        "Softmax": lambda t: F.softmax(t, at.get("axis", -1)),
        "LogSoftmax": lambda t: F.log_softmax(t, at.get("axis", -1)),
        "GlobalAveragePool": lambda t: t.mean(tuple(range(2, t.dim())), keepdim=True),
        "MaxPool": lambda t: F.max_pool2d(t, at["kernel_shape"], at.get("strides", at["kernel_shape"]),
                                          at.get("pads", [0, 0, 0, 0])[:2]),
        "AveragePool": lambda t: F.avg_pool2d(t, at["kernel_shape"], at.get("strides", at["kernel_shape"]),
                                              at.get("pads", [0, 0, 0, 0])[:2]),
    }
    reduce_ = {"ReduceMean": torch.mean, "ReduceSum": torch.sum, "ReduceMax": torch.amax}
    binary = {"Add": torch.add, "Mul": torch.mul, "Sub": torch.sub, "Div": torch.div}
    if op in unary:
        f = unary[op]
        fn = f
    elif op in reduce_:
        r = reduce_[op]
        axes = at.get("axes")
        axes = axes if isinstance(axes, list) else [axes] if axes is not None else list(range(ins[0].dim()))
        keep = bool(at.get("keepdims", 1))

        def fn(t):
            return r(t, dim=tuple(axes), keepdim=keep)
    elif op in binary:
        fn = binary[op]
    else:
        sys.exit("torch_bench: op '%s' not mapped" % op)
    with torch.no_grad():
        y = fn(*ins)
    flops = float(max(y.numel(), ins[0].numel()))
    return fn, ins, flops


def bench_op(a, op, shape, attrs, pas):
    import torch
    fn, ins, flops = op_case(op, shape, attrs)
    label = shape + (" " + attrs if attrs else "")
    nbytes = sum(t.numel() * 4 for t in ins)
    if pas == "fwd":
        with torch.no_grad():
            y = fn(*ins)
        nbytes += y.numel() * 4

        def run():
            with torch.no_grad():
                fn(*ins)
        return row(op, label, pas, timeit(run, a), flops, nbytes)
    if pas == "bwd_data":
        idx = [0]
    elif pas == "bwd_filter":
        if len(ins) < 2:
            return None
        idx = [1]
    elif pas == "bwd":
        idx = [i for i in range(len(ins)) if not (op == "BatchNormalization" and i >= 3)]
    else:
        sys.exit("torch_bench: unknown op pass '%s'" % pas)
    req = [t.clone().requires_grad_(i in idx) for i, t in enumerate(ins)]
    y = fn(*req)
    dy = torch.rand_like(y)
    wrt = [req[i] for i in idx]
    nbytes = dy.numel() * 4 + sum(req[i].numel() * 4 * 2 for i in idx)

    def run():
        torch.autograd.grad(y, wrt, dy, retain_graph=True)
    return row(op, label, pas, timeit(run, a), flops, nbytes)


def read_cases(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            toks = line.split()
            passes = None
            attrs = []
            for t in toks[2:]:
                if t.startswith("pass="):
                    passes = t[5:]
                else:
                    attrs.append(t)
            out.append((toks[0], toks[1], " ".join(attrs), passes))
    return out


# ---------------------------------------------------------------- output

def report(a, rows):
    import torch
    peak = a.peak_gflops or 0.0
    hdr = dict(schema="jatp.bench/2", peer="torch", version=torch.__version__,
               date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"), threads=a.threads,
               blas="torch %s (MKL-DNN %s, %d threads)" % (torch.__version__, torch.backends.mkldnn.is_available(),
                                                           torch.get_num_threads()),
               peak_gflops=peak, peak_method="given (--peak-gflops)" if peak else "not measured")
    out = []
    for r in rows:
        st = r["st"]
        s = st["med"]
        d = dict(op=r["op"], shape=r["shape"], backend="torch", algo="-", runs=st["runs"],
                 us_median=s * 1e6, us_p10=st["p10"] * 1e6, us_p90=st["p90"] * 1e6, us_best=st["best"] * 1e6,
                 flop=r["flops"], bytes=r["bytes"], gflops=r["flops"] / s / 1e9, gbps=r["bytes"] / s / 1e9,
                 pct_peak=100.0 * r["flops"] / s / 1e9 / peak if peak else 0.0)
        d["pass"] = r["pass_"]
        if r["batch"]:
            d["batch"] = r["batch"]
            d["items_per_s"] = r["batch"] / s
        out.append(d)
    hdr["rows"] = out
    tout = sys.stderr if a.json == "-" else sys.stdout
    if not a.quiet:
        print("torch_bench   %s\ntorch    %s, %d threads\npeak     %s" % (hdr["date"], torch.__version__, a.threads,
                                                                      hdr["peak_method"]), file=tout)
        wop = max([8] + [len(d["op"]) for d in out])
        wsh = max([5] + [len(d["shape"]) for d in out])
        print("%-*s  %-*s  %-10s %-7s %-5s %11s %11s %11s %9s %8s %7s %6s" % (
            wop, "op", wsh, "shape", "pass", "backend", "algo", "median us", "p10 us", "p90 us", "GFLOP/s", "GB/s",
            "%peak", "runs"), file=tout)
        for d in out:
            print("%-*s  %-*s  %-10s %-7s %-5s %11.1f %11.1f %11.1f %9.2f %8.2f %7.1f %6d" % (
                wop, d["op"], wsh, d["shape"], d["pass"], "torch", "-", d["us_median"], d["us_p10"], d["us_p90"],
                d["gflops"], d["gbps"], d["pct_peak"], d["runs"]), file=tout)
    if a.json:
        txt = json.dumps(hdr, indent=1) + "\n"
        if a.json == "-":
            sys.stdout.write(txt)
        else:
            tmp = a.json + ".tmp"
            with open(tmp, "w") as f:
                f.write(txt)
            os.replace(tmp, a.json)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--pass", dest="passes")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--jatp-step")
    ap.add_argument("--denoiser", default="rrdb-s")
    ap.add_argument("--op")
    ap.add_argument("--shape")
    ap.add_argument("--attrs", default="")
    ap.add_argument("--cases")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--min-runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--peak-gflops", type=float, default=0.0)
    ap.add_argument("--json")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    rows = []
    if a.op or a.cases:
        cases = [(a.op, a.shape, a.attrs, a.passes)] if a.op else []
        if a.cases:
            cases += [(o, s, at, p or a.passes) for o, s, at, p in read_cases(a.cases)]
        for op, shape, attrs, passes in cases:
            passes = passes or ("fwd,bwd_data,bwd_filter" if op in WEIGHTED else "fwd,bwd_data")
            for p in passes.split(","):
                r = bench_op(a, op, shape, attrs, p)
                if r:
                    rows.append(r)
    elif a.jatp_step:
        a.batch = a.batch or 128
        rows.append(bench_jatp_step(a))
    elif a.model:
        a.batch = a.batch or 1
        for p in (a.passes or "fwd").split(","):
            rows.append(bench_model(a, p))
    else:
        ap.error("give --model, --jatp-step, --op or --cases")
    report(a, rows)


if __name__ == "__main__":
    main()
