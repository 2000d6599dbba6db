#!/usr/bin/python3
"""Writes the PyTorch references of tests/train/test_optim.c into tests/train/fixtures/ (run with
/usr/bin/python3: Debian's torch 1.13). Seeded, reproducible byte for byte.

<case>_<dtype>/: lr.npy (per-step learning rates, float64), p<i>.npy (initial parameters),
g<s>_<i>.npy (gradient of parameter i at step s), w<s>_<i>.npy (parameter i after step s),
b<s>_<i>.npy (the momentum buffer / exp_avg after step s), c<s>_<i>.npy (exp_avg_sq, Adam only), for
3 steps and 2 parameters of shapes [3, 4] and [5].
clip_<dtype>/: g<i>.npy, then per max_norm k: max_norm<k>.npy, out<k>_<i>.npy, norm<k>.npy.
sched_*.npy: learning rates by epoch from MultiStepLR / CosineAnnealingLR.
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
SHAPES = [(3, 4), (5,)]
STEPS = 3

# name: (optimizer factory, per-step learning rates); mirrored in test_optim.c
CASES = {
    "sgd_momentum": (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4), [0.1, 0.05, 0.02]),
    "sgd_nesterov": (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True),
                     [0.1, 0.05, 0.02]),
    "sgd_dampening": (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3), [0.1, 0.1, 0.1]),
    "sgd_plain": (lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=1e-3), [0.1, 0.2, 0.3]),
    "adam": (lambda ps: torch.optim.Adam(ps, lr=1e-3), [1e-3, 2e-3, 5e-4]),
    "adam_wd": (lambda ps: torch.optim.Adam(ps, lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-2), [2e-4, 2e-4, 1e-4]),
    "adamw": (lambda ps: torch.optim.AdamW(ps, lr=1e-3, weight_decay=1e-2), [1e-3, 2e-3, 5e-4]),
}


def save(path, a):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    a = np.asarray(a)
    np.save(path, np.ascontiguousarray(a) if a.ndim else a)


def gen_case(name, factory, lrs, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    d = os.path.join(OUT, f"{name}_{'f32' if dtype == torch.float32 else 'f64'}")
    ps = [torch.randn(s, generator=g, dtype=torch.float64).to(dtype).requires_grad_(True) for s in SHAPES]
    for i, p in enumerate(ps):
        save(os.path.join(d, f"p{i}.npy"), p.detach().numpy())
    save(os.path.join(d, "lr.npy"), np.array(lrs, dtype=np.float64))
    opt = factory(ps)
    for s in range(STEPS):
        for i, p in enumerate(ps):
            p.grad = torch.randn(p.shape, generator=g, dtype=torch.float64).to(dtype)
            save(os.path.join(d, f"g{s}_{i}.npy"), p.grad.numpy())
        for grp in opt.param_groups:
            grp["lr"] = lrs[s]
        opt.step()
        for i, p in enumerate(ps):
            save(os.path.join(d, f"w{s}_{i}.npy"), p.detach().numpy())
            st = opt.state[p]
            if "momentum_buffer" in st and st["momentum_buffer"] is not None:
                save(os.path.join(d, f"b{s}_{i}.npy"), st["momentum_buffer"].numpy())
            if "exp_avg" in st:
                save(os.path.join(d, f"b{s}_{i}.npy"), st["exp_avg"].numpy())
                save(os.path.join(d, f"c{s}_{i}.npy"), st["exp_avg_sq"].numpy())


def gen_clip(dtype, seed):
    g = torch.Generator().manual_seed(seed)
    d = os.path.join(OUT, f"clip_{'f32' if dtype == torch.float32 else 'f64'}")
    grads = [torch.randn(s, generator=g, dtype=torch.float64).to(dtype) for s in [(3, 4), (5,), (2, 2, 2)]]
    for i, t in enumerate(grads):
        save(os.path.join(d, f"g{i}.npy"), t.numpy())
    for k, max_norm in enumerate([1.0, 100.0]):
        ps = [torch.zeros_like(t, requires_grad=True) for t in grads]
        for p, t in zip(ps, grads):
            p.grad = t.clone()
        norm = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        save(os.path.join(d, f"max_norm{k}.npy"), np.array(max_norm, dtype=np.float64))
        save(os.path.join(d, f"norm{k}.npy"), norm.numpy())
        for i, p in enumerate(ps):
            save(os.path.join(d, f"out{k}_{i}.npy"), p.grad.numpy())


def sched(name, make, base, epochs):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    s = make(opt)
    lrs = []
    for e in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    save(os.path.join(OUT, f"sched_{name}.npy"), np.array(lrs, dtype=np.float64))


def main():
    torch.manual_seed(0)
    for k, (name, (factory, lrs)) in enumerate(sorted(CASES.items())):
        gen_case(name, factory, lrs, torch.float64, 100 + k)
        gen_case(name, factory, lrs, torch.float32, 200 + k)
    gen_clip(torch.float64, 7)
    gen_clip(torch.float32, 8)
    lr_s = torch.optim.lr_scheduler
    sched("multistep", lambda o: lr_s.MultiStepLR(o, milestones=[75, 90], gamma=0.1), 0.1, 101)
    sched("multistep_dup", lambda o: lr_s.MultiStepLR(o, milestones=[2, 5, 2], gamma=0.5), 0.05, 8)
    sched("cosine", lambda o: lr_s.CosineAnnealingLR(o, T_max=10, eta_min=1e-4), 0.1, 45)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
