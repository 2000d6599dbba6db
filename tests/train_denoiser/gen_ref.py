#!/usr/bin/python3
"""Float64 PyTorch references for tests/train_denoiser/test_train_denoiser.c.

Run with Debian's python3 (torch 1.13):  /usr/bin/python3 tests/train_denoiser/gen_ref.py
Writes tests/train_denoiser/fixtures/:
  T.onnx, P.onnx   a tiny target (conv, one residual block named layer3.0, global average pool, linear;
                   no BatchNorm, so the ONNX weights are exactly the torch weights) and a tiny
                   pre-processor (x + 0.5 conv(lrelu(conv(x)))), exported in float32 with a dynamic batch axis
  x.npy, x_adv.npy float64 [4,1,8,8] (float32-representable values in [0,1]); y.npy int64 [4]
  jatp_<variant>.npy          [5]: L, mean BCE, mean FSM, mean w, L_pix of the JATP loss (Eq. 6-10)
  jatp_<variant>_grad.npy     d L / d P's parameters, concatenated in the order of their sorted names
  fpgd_x0.npy                 a fixed start in the eps-ball; fpgd_f0.npy = tap(T(P(x)))
  fpgd_<d>_grad.npy, fpgd_<d>_dist.npy, fpgd_<d>_x1.npy   for d in mse, cos: the gradient of
                   sum_i dist(tap(T(P(x0_i))), f0_i) at x0, the distances, and one step
                   x1 = clip(clip(x0 + a sign(g), x - eps, x + eps), 0, 1) with eps = 0.1, a = 0.05
Everything is computed in float64 from the float32 weights, written independently of the C code:
BCE after MART's code (argsort, nll_loss), the tap through a forward hook on layer3[0].conv2.
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
N, EPS, STEP = 4, 0.1, 0.05


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, 1, 1)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))) + x)


class TinyT(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1, 1)
        self.layer3 = nn.Sequential(Block(4))
        self.linear = nn.Linear(4, 10)

    def forward(self, x):
        x = self.layer3(F.relu(self.conv1(x)))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


class TinyP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, 1, 1)
        self.c2 = nn.Conv2d(4, 1, 3, 1, 1)

    def forward(self, x):
        # ONNX keeps the slope as a float32 attribute: use that value in the float64 reference too
        return x + 0.5 * self.c2(F.leaky_relu(self.c1(x), float(np.float32(0.2))))


def save(name, a):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    assert a.dtype in (np.float64, np.int64), (name, a.dtype)
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a))


def export(m, path):
    torch.onnx.export(m, torch.zeros(1, 1, 8, 8), path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, opset_version=17)


def with_tap(T, u):
    feats = []
    h = T.layer3[0].conv2.register_forward_hook(lambda m, i, o: feats.append(o))
    z = T(u)
    h.remove()
    return z, feats[0]


def bce_pe(z, y):
    """MART's loss_adv per example."""
    probs = F.softmax(z, dim=1)
    tmp1 = torch.argsort(probs, dim=1)[:, -2:]
    new_y = torch.where(tmp1[:, -1] == y, tmp1[:, -2], tmp1[:, -1])
    return F.cross_entropy(z, y, reduction="none") + F.nll_loss(torch.log(1.0001 - probs + 1e-12), new_y,
                                                                 reduction="none")


def jatp_loss(P, T, x_adv, x, y, alpha=5.0, beta=3.0, no_bce=False, bce_as_ce=False, w_one=False, l2norm=False):
    pa, pn = P(x_adv), P(x)
    za, ta = with_tap(T, pa)
    zn, tn = with_tap(T, pn)
    b = F.cross_entropy(za, y, reduction="none") if bce_as_ce else bce_pe(za, y)
    fsm = ((ta - tn) ** 2).flatten(1).mean(1)
    w = torch.ones_like(fsm) if w_one else 1 - F.softmax(zn, dim=1).gather(1, y[:, None]).squeeze(1)
    pix = (pa - x).flatten(1).norm(dim=1).mean() if l2norm else ((pa - x) ** 2).mean()
    per = alpha * fsm * w
    if not no_bce:
        per = per + b
    total = per.mean() + beta * pix
    return total, torch.stack([total, b.mean(), fsm.mean(), w.mean(), pix])


# variant name -> (alpha, beta, no_bce, bce_as_ce, w_one, l2norm); names match jt_dn_loss_parse plus switches
VARIANTS = {
    "full": (5.0, 3.0, False, False, False, False),
    "pix": (0.0, 3.0, True, False, False, False),
    "pix+bce": (0.0, 3.0, False, False, False, False),
    "pix+bce+fsm": (5.0, 3.0, False, False, True, False),
    "no-pix": (5.0, 0.0, False, False, False, False),
    "no-bce": (5.0, 3.0, True, False, False, False),
    "no-fsm": (0.0, 3.0, False, False, False, False),
    "full_ce": (5.0, 3.0, False, True, False, False),
    "full_w1": (5.0, 3.0, False, False, True, False),
    "full_l2norm": (5.0, 3.0, False, False, False, True),
}


def feat_dist(f, f0, kind):
    a, b = f.flatten(1), f0.flatten(1)
    if kind == "mse":
        return ((a - b) ** 2).mean(1)
    return 1 - (a * b).sum(1) / torch.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-16)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20240607)
    T, P = TinyT().eval(), TinyP().eval()
    with torch.no_grad():  # larger features and a P that changes its input visibly
        for m in (T.conv1, T.layer3[0].conv1, T.layer3[0].conv2):
            m.weight.mul_(3.0)
        P.c2.weight.mul_(2.0)
    export(T, os.path.join(OUT, "T.onnx"))
    export(P, os.path.join(OUT, "P.onnx"))
    T, P = T.double(), P.double()
    g = torch.Generator().manual_seed(7)
    x = torch.rand(N, 1, 8, 8, generator=g).float().double()
    x_adv = (x + EPS * (2 * torch.rand(N, 1, 8, 8, generator=g) - 1)).clamp(0, 1).float().double()
    with torch.no_grad():
        z = T(P(x_adv))
    y = torch.randint(0, 10, (N,), generator=g)
    y[0] = z[0].argmax()  # the true class on top: BCE's runner-up path
    save("x", x)
    save("x_adv", x_adv)
    save("y", y)
    names = sorted(n for n, _ in P.named_parameters())
    params = dict(P.named_parameters())
    for vname, (a, b, nb, ce, w1, l2) in VARIANTS.items():
        P.zero_grad()
        total, parts = jatp_loss(P, T, x_adv, x, y, a, b, nb, ce, w1, l2)
        total.backward()
        save("jatp_" + vname, parts)
        save("jatp_" + vname + "_grad", torch.cat([params[n].grad.flatten() for n in names]))
    # feature-space PGD: one step from a fixed start
    x0 = (x + EPS * (2 * torch.rand(N, 1, 8, 8, generator=g) - 1)).clamp(0, 1).float().double()
    with torch.no_grad():
        _, f0 = with_tap(T, P(x))
    save("fpgd_x0", x0)
    save("fpgd_f0", f0)
    for kind in ("mse", "cos"):
        v = x0.clone().requires_grad_(True)
        _, f = with_tap(T, P(v))
        d = feat_dist(f, f0, kind)
        d.sum().backward()
        gr = v.grad
        x1 = torch.min(torch.max(x0 + STEP * torch.sign(gr), x - EPS), x + EPS).clamp(0, 1)
        save("fpgd_%s_grad" % kind, gr)
        save("fpgd_%s_dist" % kind, d)
        save("fpgd_%s_x1" % kind, x1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
