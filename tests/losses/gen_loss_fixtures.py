#!/usr/bin/python3
"""PyTorch float64 reference values and input gradients for the loss pieces of graphs/losses.c.

Run with Debian's python3 (torch 1.13): /usr/bin/python3 tests/losses/gen_loss_fixtures.py
Writes tests/losses/fixtures/*.npy:
  inputs   logits_a, logits_b [N,K]; labels int64 [N]; feat_a, feat_b [N,4,3,3]; img_a, img_b [N,3,5,5]
           (in [0,1]); disc_r, disc_f [N,1]; cot_n [N] (cotangent for per-example losses)
  per case <case>_value.npy and <case>_grad_<input>.npy for every float input of the case; the JATP
           cases also write <case>_part_{bce,fsm,w,pix}.npy.
Scalar losses are differentiated as is; per-example losses through sum_i cot_n[i] * loss_i.
The references follow the original code (MART's argsort/nll_loss, TRADES' KLDivLoss(sum)/N,
F.binary_cross_entropy_with_logits, F.cosine_similarity), not our graph formulas.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
N, K = 6, 10


def save(name, t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    if a.dtype == np.float64 or a.dtype == np.int64:
        np.save(os.path.join(OUT, name + ".npy"), np.array(a, order="C"))
    else:
        raise SystemExit("unexpected dtype %s for %s" % (a.dtype, name))


def make_inputs():
    g = torch.Generator().manual_seed(20240611)
    la = torch.randn(N, K, generator=g) * 2.0
    lb = la + 0.7 * torch.randn(N, K, generator=g)
    labels = torch.randint(0, K, (N,), generator=g)
    labels[:3] = la[:3].argmax(1)  # true class on top for half the batch: the runner-up path of BCE
    return {
        "logits_a": la, "logits_b": lb, "labels": labels,
        "feat_a": torch.randn(N, 4, 3, 3, generator=g), "feat_b": torch.randn(N, 4, 3, 3, generator=g),
        "img_a": torch.rand(N, 3, 5, 5, generator=g), "img_b": torch.rand(N, 3, 5, 5, generator=g),
        "disc_r": torch.randn(N, 1, generator=g) * 1.5, "disc_f": torch.randn(N, 1, generator=g) * 1.5,
        "cot_n": torch.rand(N, generator=g) * 2 - 1,
    }


# ---- references, written after the original code ----

def ce(z, y):
    return F.cross_entropy(z, y)


def ce_pe(z, y):
    return F.cross_entropy(z, y, reduction="none")


def bce_pe(z, y):
    """MART's loss_adv, per example."""
    probs = F.softmax(z, dim=1)
    tmp1 = torch.argsort(probs, dim=1)[:, -2:]
    new_y = torch.where(tmp1[:, -1] == y, tmp1[:, -2], tmp1[:, -1])
    return F.cross_entropy(z, y, reduction="none") + F.nll_loss(torch.log(1.0001 - probs + 1e-12), new_y,
                                                                 reduction="none")


def bce(z, y):
    return bce_pe(z, y).mean()


def kl(nat, adv):
    """TRADES: KLDivLoss(size_average=False)(log_softmax(adv), softmax(nat)) / N."""
    return torch.nn.KLDivLoss(reduction="sum")(F.log_softmax(adv, dim=1), F.softmax(nat, dim=1)) / nat.shape[0]


def trades(nat, adv, y, beta=6.0):
    return F.cross_entropy(nat, y) + beta * kl(nat, adv)


def mart(nat, adv, y, beta=6.0):
    adv_probs = F.softmax(adv, dim=1)
    tmp1 = torch.argsort(adv_probs, dim=1)[:, -2:]
    new_y = torch.where(tmp1[:, -1] == y, tmp1[:, -2], tmp1[:, -1])
    loss_adv = F.cross_entropy(adv, y) + F.nll_loss(torch.log(1.0001 - adv_probs + 1e-12), new_y)
    nat_probs = F.softmax(nat, dim=1)
    true_probs = torch.gather(nat_probs, 1, y.unsqueeze(1).long()).squeeze()
    klf = torch.nn.KLDivLoss(reduction="none")
    loss_robust = (1.0 / nat.shape[0]) * torch.sum(
        torch.sum(klf(torch.log(adv_probs + 1e-12), nat_probs), dim=1) * (1.0000001 - true_probs))
    return loss_adv + beta * loss_robust


def mse(a, b):
    return F.mse_loss(a, b)


def mae(a, b):
    return F.l1_loss(a, b)


def l2_pe(a, b):
    return (a - b).flatten(1).norm(p=2, dim=1)


def l1_pe(a, b):
    return (a - b).flatten(1).abs().sum(1)


def feat_mse(a, b):
    return ((a - b) ** 2).flatten(1).mean(1)


def feat_cos(a, b):
    return 1 - F.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)


def jatp_parts(z_adv, z_nat, t_adv, t_nat, p_adv, x, y, alpha, beta, no_bce=False, bce_as_ce=False, w_one=False,
               pix_l2norm=False):
    bce_i = ce_pe(z_adv, y) if bce_as_ce else bce_pe(z_adv, y)
    fsm_i = feat_mse(t_adv, t_nat)
    w_i = torch.ones_like(fsm_i) if w_one else 1 - torch.gather(F.softmax(z_nat, dim=1), 1, y.unsqueeze(1)).squeeze(1)
    pix = l2_pe(p_adv, x).mean() if pix_l2norm else F.mse_loss(p_adv, x)
    per = alpha * fsm_i * w_i
    if not no_bce:
        per = per + bce_i
    total = per.mean() + beta * pix
    return total, {"bce": bce_i.mean(), "fsm": fsm_i.mean(), "w": w_i.mean(), "pix": pix}


def bce_logits(z, t):
    return F.binary_cross_entropy_with_logits(z, torch.full_like(z, t))


def ragan_d(r, f):
    return 0.5 * (bce_logits(r - f.mean(), 1.0) + bce_logits(f - r.mean(), 0.0))


def ragan_g(r, f):
    return 0.5 * (bce_logits(r - f.mean(), 0.0) + bce_logits(f - r.mean(), 1.0))


def apegan_d(r, f):
    return bce_logits(r, 1.0) + bce_logits(f, 0.0)


def apegan_g(g_out, x, f):
    return 0.7 * F.mse_loss(g_out, x) + 0.3 * bce_logits(f, 1.0)


JATP_IN = ["logits_b", "logits_a", "feat_a", "feat_b", "img_a", "img_b", "labels"]


def jatp_case(alpha=5.0, beta=3.0, **kw):
    return lambda za, zn, ta, tn, pa, x, y: jatp_parts(za, zn, ta, tn, pa, x, y, alpha, beta, **kw)


# (case, inputs in argument order, function, per_example); must match tests/losses/test_losses.c
CASES = [
    ("ce", ["logits_a", "labels"], ce, False),
    ("ce_pe", ["logits_a", "labels"], ce_pe, True),
    ("bce", ["logits_a", "labels"], bce, False),
    ("bce_pe", ["logits_b", "labels"], bce_pe, True),
    ("kl", ["logits_a", "logits_b"], kl, False),
    ("trades", ["logits_a", "logits_b", "labels"], trades, False),
    ("mart", ["logits_a", "logits_b", "labels"], mart, False),
    ("mse", ["img_a", "img_b"], mse, False),
    ("mae", ["img_a", "img_b"], mae, False),
    ("l2_pe", ["img_a", "img_b"], l2_pe, True),
    ("l1_pe", ["img_a", "img_b"], l1_pe, True),
    ("feat_mse", ["feat_a", "feat_b"], feat_mse, True),
    ("feat_cos", ["feat_a", "feat_b"], feat_cos, True),
    ("jatp", JATP_IN, jatp_case(), False),
    ("jatp_no_bce", JATP_IN, jatp_case(no_bce=True), False),
    ("jatp_ce", JATP_IN, jatp_case(bce_as_ce=True), False),
    ("jatp_w1", JATP_IN, jatp_case(w_one=True), False),
    ("jatp_l2pix", JATP_IN, jatp_case(pix_l2norm=True), False),
    ("jatp_a0", JATP_IN, jatp_case(alpha=0.0), False),
    ("jatp_b0", JATP_IN, jatp_case(beta=0.0), False),
    ("bce_logits1", ["disc_r"], lambda z: bce_logits(z, 1.0), False),
    ("bce_logits0", ["disc_r"], lambda z: bce_logits(z, 0.0), False),
    ("ragan_d", ["disc_r", "disc_f"], ragan_d, False),
    ("ragan_g", ["disc_r", "disc_f"], ragan_g, False),
    ("apegan_d", ["disc_r", "disc_f"], apegan_d, False),
    ("apegan_g", ["img_a", "img_b", "disc_f"], apegan_g, False),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    inp = make_inputs()
    for k, v in inp.items():
        save(k, v)
    for name, ins, fn, per_example in CASES:
        args = []
        for k in ins:
            t = inp[k].clone()
            if t.dtype == torch.float64:
                t.requires_grad_(True)
            args.append(t)
        out = fn(*args)
        parts = None
        if isinstance(out, tuple):
            out, parts = out
        save(name + "_value", out)
        obj = (out * inp["cot_n"]).sum() if per_example else out
        floats = [(k, t) for k, t in zip(ins, args) if t.dtype == torch.float64]
        grads = torch.autograd.grad(obj, [t for _, t in floats], allow_unused=True)
        for (k, t), gr in zip(floats, grads):
            save("%s_grad_%s" % (name, k), gr if gr is not None else torch.zeros_like(t))
        if parts:
            for pk, pv in parts.items():
                save("%s_part_%s" % (name, pk), pv)
    print("wrote %d cases to %s" % (len(CASES), OUT))


if __name__ == "__main__":
    main()
