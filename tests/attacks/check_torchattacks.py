#!/usr/bin/env python3
"""`jatp attack` cross-checked against torchattacks on the PyTorch original of the same model
(docs: shared/reference/attacks.md section 12.10).

    check_torchattacks.py [BUILD_DIR] [FILTER] [--full] [--keep DIR]      (BUILD_DIR defaults to build)

Run with the project's venv (.venv/bin/python: torchattacks there, torch/onnx from Debian). Two small
classifiers (tests/attacks/ta_models.py: cnn28 on Fashion-MNIST, cnn32 on synthetic 3x32x32 data) are
trained with fixed seeds, exported to ONNX (opset 17, dynamic batch), and attacked on the same test
points by `BUILD_DIR/jatp attack` (on the ONNX file) and by torchattacks (on the torch module), one
check per line:

  torchattacks step-sign        the installed torchattacks PGD climbs the loss: one step of size eps on
                                a linear model (box inactive) lands on x + eps*sign(W^T(p - e_y))
  linear pgd-1 (jatp)           the same closed form for `jatp attack --attack pgd --steps 1`
  MODEL onnx-vs-torch           `jatp run` logits of the exported file vs the torch module: max abs
                                difference <= 1e-5 * max(1, max |z|) (the two must be the same function)
  deterministic (same adversarial images: >= 99% of the coordinates within 1e-6 and predictions at the
  two outputs agreeing on >= 99.5% of the points, both over the clean-correct points, the only ones
  jatp attacks):
  MODEL pgd                     PGD(eps, alpha=0.01, steps=40, random_start=False) | jatp pgd
  cnn32 ti-bim                  TIFGSM(alpha=0.007, steps=40, decay=0, gaussian 15/3, resize_rate=0.9,
                                diversity_prob=0) | jatp ti-bim (3 channels only: TIFGSM's conv is
                                hard-wired to groups=3)
  cnn28 mi                      MIFGSM(alpha=2/255, steps=10, decay=1.0) | jatp mi, same step and steps
  cnn28 pgd-dlr                 PGD on the DLR loss (40 x 0.007, no random start), a PyTorch reference of
                                section 2.1 with the DLR loss of section 3.1 written here | jatp pgd-dlr;
                                points whose trajectory reaches y = 3rd largest logit (DLR flat, its
                                gradient rounding noise) are left out and counted; robust accuracy
                                over all points within 1 pp; the left-out points must not walk back to
                                y (at most max(1, 1%) more of them robust than for the reference)
  statistical (|robust accuracy jatp - torchattacks| <= 1 pp for N >= 1000 points; for N < 1000 the
  margin widens to the binomial 3-sigma bound 3*sqrt(p(1-p)/N), p = the mean of the two accuracies):
  MODEL apgd-ce                 APGD(loss='ce', steps=100) | jatp apgd-ce
  MODEL apgd-dlr                APGD(loss='dlr', steps=100) | jatp apgd-dlr
  MODEL apgd-t                  APGDT(steps=100, n_classes=10) | jatp apgd-t (9 targets)
  MODEL fab-t                   FAB(multi_targeted=True, steps=100, n_classes=10) | jatp fab-t
  MODEL square                  Square(p_init=0.8, resc_schedule=False) | jatp square
                                --square-shared-window (AutoAttack's batch-shared window), same queries
  MODEL aa (--full only)        the four above composed as AutoAttack standard (section 6; not
                                torchattacks' AutoAttack class, which uses fewer iterations) | jatp aa
Every jatp output is also validated (finite, in [0,1], ||x~ - x||_inf <= eps + 1e-6, clean-misclassified
points returned unchanged) and its summary JSON must report the robust accuracy of the points it
returned (within 0.5 pp; near-tie logits may flip a prediction). Predictions are taken with the torch
module on both outputs.

Budget: the default settings finish in about 4 minutes on 2 cores (jatp runs with --threads 1 in
parallel with torch on 1 thread): cnn28 statistical checks on N = 1000 points (fab-t 400),
Square with 1000 queries on both sides, no statistical checks on cnn32. --full: N = 1000 everywhere,
Square 5000 queries, statistical checks on both models. The eps values (cnn28 0.03, cnn32 8/255) are
chosen so that robust accuracy sits near 50%, where a weaker or broken attack shows.

A jatp attack that fails is a failure. Without torch or torchattacks the suite is
one skip line (a failure when JATP_REQUIRE_ORT=1). Prints `ok/FAIL/skip` lines and the closing
`N passed, N failed, N skipped`; exit 1 on any failure.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

counts = [0, 0, 0]

EPS = {"cnn28": 0.03, "cnn32": 8 / 255}
JATP_BATCH = 256
TIMEOUT = 900


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


class Skip(Exception):
    pass


class Fail(Exception):
    pass


# ------------------------------------------------------------------------------------------ jatp side

class Jatp:
    def __init__(self, build, tmp):
        self.exe = os.path.join(build, "jatp")
        self.tmp = tmp
        self.seq = 0

    def available(self):
        """None when `jatp attack --help` works, else why not."""
        if not os.access(self.exe, os.X_OK):
            return "%s not found or not executable (build first)" % self.exe
        r = subprocess.run([self.exe, "attack", "--help"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return "`jatp attack --help` exited %d: %s" % (r.returncode, (r.stderr or r.stdout).strip()[:300])
        return None

    def start(self, model, x_path, y_path, attack, opts):
        """Starts `jatp attack` in the background (1 thread); returns a handle for finish()."""
        self.seq += 1
        out = os.path.join(self.tmp, "adv%d.npy" % self.seq)
        js = os.path.join(self.tmp, "summary%d.json" % self.seq)
        cmd = [self.exe, "attack", "--target", model, "--images", x_path, "--labels", y_path, "--attack", attack]
        cmd += [str(o) for o in opts]
        cmd += ["--seed", "0", "--batch", str(JATP_BATCH), "--threads", "1", "--out", out, "--json", js, "--quiet"]
        log = open(os.path.join(self.tmp, "log%d.txt" % self.seq), "w+")
        try:
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except OSError as e:
            log.close()
            raise Fail("cannot start %s: %s" % (self.exe, e))
        return dict(p=p, cmd=cmd, out=out, json=js, log=log, t0=time.time())

    @staticmethod
    def finish(h):
        """(adv, summary, seconds); raises Fail when jatp attack fails."""
        try:
            rc = h["p"].wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            h["p"].kill()
            h["p"].wait()
            raise Fail("jatp attack timed out after %d s" % TIMEOUT)
        dt = time.time() - h["t0"]
        h["log"].seek(0)
        text = h["log"].read().strip()
        h["log"].close()
        if rc != 0:
            raise Fail("jatp attack exited %d: %s\n%s" % (rc, text[-1500:], " ".join(h["cmd"])))
        if not os.path.exists(h["out"]):
            raise Fail("jatp attack exited 0 but wrote no %s" % h["out"])
        adv = np.load(h["out"])
        try:
            with open(h["json"]) as f:
                summary = flat_summary(json.load(f))
        except (OSError, ValueError) as e:
            raise Fail("jatp attack summary JSON unreadable: %s" % e)
        return adv, summary, dt


def flat_summary(s):
    """The summary's top level (n, clean_accuracy, ...) merged with its single attack entry
    (schema jatp.eval/1 keeps attack, robust_accuracy, seconds, examples_per_second per attack in
    "attacks"); a flat summary is returned as it is."""
    out = dict(s)
    atk = s.get("attacks")
    if isinstance(atk, list) and len(atk) == 1 and isinstance(atk[0], dict):
        out.update(atk[0])
    return out


# ------------------------------------------------------------------------------------------ helpers

def preds(model, x):
    import ta_models as tm
    return tm.logits(model, np.ascontiguousarray(x, dtype=np.float32)).argmax(1)


def validate(adv, x, y, eps, model, summary, clean_ok):
    """Validity of a jatp output (section 1) and its summary; raises Fail."""
    if adv.shape != x.shape or adv.dtype != np.float32:
        raise Fail("output %s %s, expected %s float32" % (adv.dtype, list(adv.shape), list(x.shape)))
    if not np.isfinite(adv).all():
        raise Fail("output has non-finite values")
    if adv.min() < 0 or adv.max() > 1:
        raise Fail("output outside [0,1]: min %g max %g" % (adv.min(), adv.max()))
    linf = np.abs(adv.astype(np.float64) - x).reshape(len(x), -1).max(1)
    if linf.max() > eps + 1e-6:
        raise Fail("||x~ - x||_inf = %.9g > eps + 1e-6 (eps %.9g) at point %d" % (linf.max(), eps, int(linf.argmax())))
    wrong = ~clean_ok
    if wrong.any() and not np.array_equal(adv[wrong], x[wrong]):
        raise Fail("clean-misclassified points were changed")
    for k in ("attack", "n", "clean_accuracy", "robust_accuracy", "seconds", "examples_per_second"):
        if k not in summary:
            raise Fail("summary JSON lacks %r" % k)
    if int(summary["n"]) != len(x):
        raise Fail("summary n = %s, expected %d" % (summary["n"], len(x)))
    acc = float(np.mean(preds(model, adv) == y))
    if abs(float(summary["robust_accuracy"]) - acc) > 0.005:
        raise Fail("summary robust_accuracy %.4f, but the returned points give %.4f" % (summary["robust_accuracy"], acc))
    cacc = float(np.mean(clean_ok))
    if abs(float(summary["clean_accuracy"]) - cacc) > 0.005:
        raise Fail("summary clean_accuracy %.4f, torch gives %.4f" % (summary["clean_accuracy"], cacc))
    return acc


def run_pair(jatp, model_path, xp, yp, attack, opts, torch_fn):
    """jatp in the background while torch_fn() runs here; returns (adv_jatp, summary, adv_torch, tj, tt)."""
    h = jatp.start(model_path, xp, yp, attack, opts)
    t0 = time.time()
    try:
        adv_t = torch_fn()
    except BaseException:
        h["p"].kill()
        h["p"].wait()
        h["log"].close()
        raise
    tt = time.time() - t0
    adv_j, summary, tj = jatp.finish(h)
    tj = float(summary.get("seconds", tj))
    return adv_j, summary, np.ascontiguousarray(adv_t.detach().numpy(), dtype=np.float32), tj, tt


# ------------------------------------------------------------------------------------------ checks

def check_step_sign(jatp, tmp, jatp_err):
    """torchattacks PGD (and jatp pgd) on a linear model: one step of size eps from x lands on the
    corner x + eps*sign(W^T (softmax(z) - e_y)), the loss-increasing direction (box inactive)."""
    import torch
    import torch.nn as nn
    import torchattacks
    import ta_models as tm
    torch.manual_seed(tm.SEED + 5)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10)).eval()
    r = np.random.default_rng(tm.SEED + 5)
    eps = 0.05
    x = r.uniform(eps + 0.01, 1 - eps - 0.01, (64, 3, 8, 8)).astype(np.float32)
    W = model[1].weight.detach().double().numpy()
    b = model[1].bias.detach().double().numpy()
    z = x.reshape(64, -1).astype(np.float64) @ W.T + b
    y = z.argmax(1).astype(np.int64)          # clean-correct by construction
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(64), y] -= 1
    g = p @ W                                  # d CE / dx (float64)
    expect = (x.reshape(64, -1) + eps * np.sign(g)).reshape(x.shape)

    def ce(v):
        zz = v.reshape(64, -1).astype(np.float64) @ W.T + b
        m = zz.max(1, keepdims=True)
        return (np.log(np.exp(zz - m).sum(1)) + m[:, 0] - zz[np.arange(64), y])

    def compare(name, adv):
        near = np.abs(adv.astype(np.float64) - expect) <= 1e-6
        frac = near.mean()
        up = ce(adv) > ce(x)
        if not up.all():
            fail(name, "the loss went down on %d of 64 points: the step follows -gradient (frac at the "
                       "ascent corner %.4f)" % ((~up).sum(), frac))
        elif frac < 0.999:
            fail(name, "only %.4f of the coordinates at x + eps*sign(grad CE)" % frac)
        else:
            ok(name, "%.4f of the coordinates at the ascent corner, loss up on 64/64 points" % frac)

    name = "torchattacks step-sign"
    try:
        adv = torchattacks.PGD(model, eps=eps, alpha=eps, steps=1, random_start=False)(
            torch.from_numpy(x), torch.from_numpy(y)).detach().numpy()
        compare(name, adv)
    except Exception as e:  # a broken oracle must fail loudly
        fail(name, "torchattacks PGD raised %s: %s" % (type(e).__name__, e))

    name = "linear pgd-1 (jatp)"
    if jatp_err:
        fail(name, jatp_err)
        return
    try:
        mp = os.path.join(tmp, "linear.onnx")
        tm.export(model, (3, 8, 8), mp)
        xp, yp = os.path.join(tmp, "linear_x.npy"), os.path.join(tmp, "linear_y.npy")
        np.save(xp, x)
        np.save(yp, y)
        h = jatp.start(mp, xp, yp, "pgd", ["--eps", repr(eps), "--step-size", repr(eps), "--steps", 1,
                                           "--no-random-start", "--loss", "ce"])
        adv, _, _ = jatp.finish(h)
        compare(name, adv)
    except Skip as e:
        skip(name, e)
    except Fail as e:
        fail(name, e)


def check_same_function(jatp, jatp_err, mname, model, mpath, xp, x):
    import ta_models as tm
    name = "%s onnx-vs-torch" % mname
    if jatp_err:
        fail(name, jatp_err)
        return
    out = os.path.join(os.path.dirname(mpath), mname + "_logits.npy")
    try:
        r = subprocess.run([jatp.exe, "run", mpath, "--input", xp, "--output", out, "--threads", "2"],
                           capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        fail(name, "jatp run: %s" % e)
        return
    if r.returncode != 0:
        fail(name, "jatp run exited %d: %s" % (r.returncode, r.stderr.strip()[-1000:]))
        return
    zj = np.load(out).astype(np.float64)
    zt = tm.logits(model, x).astype(np.float64)
    if zj.shape != zt.shape:
        fail(name, "jatp logits %s, torch %s" % (list(zj.shape), list(zt.shape)))
        return
    d = np.abs(zj - zt).max()
    tol = 1e-5 * max(1.0, np.abs(zt).max())
    agree = np.mean(zj.argmax(1) == zt.argmax(1))
    if not d <= tol:
        fail(name, "max |z_jatp - z_torch| = %.3g > %.3g (N=%d)" % (d, tol, len(x)))
    else:
        ok(name, "N=%d, max |dz| %.2g (tol %.2g), argmax agrees on %.2f%%" % (len(x), d, tol, 100 * agree))


def pgd_dlr_reference(model, x, y, eps, alpha, steps, flat=None):
    """Section 2.1 without random start, loss = DLR of section 3.1 summed over the batch. flat (bool
    array, optional) is set where an iterate has y as the 3rd largest logit (DLR constant there)."""
    import torch
    x = torch.from_numpy(x)
    y = torch.from_numpy(y)
    lo, hi = x - eps, x + eps
    v = x.clone()
    onehot = torch.nn.functional.one_hot(y, 10).bool()
    for _ in range(steps):
        v.requires_grad_(True)
        z = model(v)
        zy = z.gather(1, y[:, None])[:, 0]
        zo = z.masked_fill(onehot, float("-inf")).max(1).values
        zs = z.sort(1, descending=True).values
        loss = -(zy - zo) / (zs[:, 0] - zs[:, 2] + 1e-12)
        g, = torch.autograd.grad(loss.sum(), v)
        with torch.no_grad():
            if flat is not None:
                flat |= ((z > zy[:, None]).sum(1) == 2).numpy()
            v = torch.clamp(torch.min(torch.max(v + alpha * g.sign(), lo), hi), 0.0, 1.0)
    return v.detach()


def check_pgd_dlr(ctx, mname, steps):
    """PGD on the DLR loss against pgd_dlr_reference. Where the true label is the 3rd largest logit,
    DLR = -(z_y - z_(1)) / (z_(1) - z_(3)) is constant (= 1): its gradient is exactly zero up to
    rounding, and sign() of that rounding noise moves every coordinate, so from there on two correct
    implementations walk different random paths. Points whose reference trajectory enters that flat
    region are left out of the comparison (and counted); the rest must match as the other
    deterministic attacks do. Robust accuracy over all points must agree within 1 pp, and at most
    max(1, 1%) more of the left-out points may end robust for jatp than for the reference (a zero
    gradient leaves them misclassified)."""
    name = "%s pgd-dlr" % mname
    if ctx["filter"] and ctx["filter"] not in name:
        return
    if ctx["jatp_err"]:
        fail(name, ctx["jatp_err"])
        return
    m = ctx["models"][mname]
    x, y, eps, cc = m["x"], m["y"], m["eps"], m["clean_ok"]
    opts = ["--eps", repr(eps), "--step-size", "0.007", "--steps", steps, "--no-random-start", "--loss", "dlr"]
    flat = np.zeros(len(x), bool)
    try:
        adv_j, summary, adv_t, tj, tt = run_pair(ctx["jatp"], m["path"], m["xp"], m["yp"], "pgd-dlr", opts,
                                                 lambda: pgd_dlr_reference(m["model"], x, y, eps, 0.007, steps, flat))
        acc_j = validate(adv_j, x, y, eps, m["model"], summary, cc)
    except Skip as e:
        skip(name, e)
        return
    except Fail as e:
        fail(name, e)
        return
    keep = cc & ~flat
    frac = np.mean(np.abs(adv_j[keep].astype(np.float64) - adv_t[keep]) <= 1e-6)
    agree = np.mean(preds(m["model"], adv_j[keep]) == preds(m["model"], adv_t[keep]))
    pt = preds(m["model"], adv_t)
    acc_t = np.sum((pt == y) & cc) / len(y)
    lo = cc & flat
    pj_all = preds(m["model"], adv_j)
    msg = ("N=%d (%d clean-correct, %d of them left out: their trajectory reaches y = 3rd largest logit, where "
           "DLR is flat; of those, robust at the end: jatp %d, reference %d), %.2f%% of coordinates within 1e-6, "
           "predictions agree on %.2f%%, robust accuracy jatp %.2f%% reference %.2f%%, jatp %.1f s, torch %.1f s, "
           "reference: section 2.1 + DLR in this file" %
           (len(x), cc.sum(), lo.sum(), np.sum(pj_all[lo] == y[lo]), np.sum(pt[lo] == y[lo]), 100 * frac,
            100 * agree, 100 * acc_j, 100 * acc_t, tj, tt))
    rob_j, rob_t = int(np.sum(pj_all[lo] == y[lo])), int(np.sum(pt[lo] == y[lo]))
    if frac < 0.99 or agree < 0.995 or abs(acc_j - acc_t) > 0.01:
        fail(name, msg + " (need >= 99%, >= 99.5% and |diff| <= 1 pp)")
    elif rob_j > rob_t + max(1, lo.sum() // 100):
        fail(name, "%d of the %d left-out points end robust for jatp, %d for the reference: in the flat region "
                   "the DLR gradient is zero (sign(0) = 0: the point stays where y ranks 3rd, misclassified); a "
                   "rounding-level gradient there makes sign() take full steps in random directions, back to y. "
                   "%s" % (rob_j, lo.sum(), rob_t, msg))
    else:
        ok(name, msg)


def deterministic(ctx, mname, check, attack, opts, torch_fn, note=""):
    name = "%s %s" % (mname, check)
    if ctx["filter"] and ctx["filter"] not in name:
        return
    if ctx["jatp_err"]:
        fail(name, ctx["jatp_err"])
        return
    m = ctx["models"][mname]
    x, y, eps = m["x"], m["y"], m["eps"]
    try:
        adv_j, summary, adv_t, tj, tt = run_pair(ctx["jatp"], m["path"], m["xp"], m["yp"], attack, opts, torch_fn)
        acc_j = validate(adv_j, x, y, eps, m["model"], summary, m["clean_ok"])
    except Skip as e:
        skip(name, e)
        return
    except Fail as e:
        fail(name, e)
        return
    cc = m["clean_ok"]
    near = np.abs(adv_j[cc].astype(np.float64) - adv_t[cc]) <= 1e-6
    frac = near.mean()
    # jatp leaves clean-misclassified points alone, torchattacks attacks them too: compare the
    # attacked (clean-correct) points only.
    pj, pt = preds(m["model"], adv_j[cc]), preds(m["model"], adv_t[cc])
    agree = np.mean(pj == pt)
    acc_t = np.sum(pt == y[cc]) / len(y)
    msg = ("N=%d (%d clean-correct), %.2f%% of coordinates within 1e-6, predictions agree on %.2f%%, robust "
           "accuracy jatp %.2f%% torch %.2f%%, jatp %.1f s, torch %.1f s%s" %
           (len(x), cc.sum(), 100 * frac, 100 * agree, 100 * acc_j, 100 * acc_t, tj, tt, note))
    if frac < 0.99 or agree < 0.995:
        fail(name, msg + " (need >= 99% and >= 99.5%)")
    else:
        ok(name, msg)


def statistical(ctx, mname, check, attack, opts, make_attack, n):
    name = "%s %s" % (mname, check)
    if ctx["filter"] and ctx["filter"] not in name:
        return
    if ctx["jatp_err"]:
        fail(name, ctx["jatp_err"])
        return
    import torch
    m = ctx["models"][mname]
    n = min(n, len(m["x"]))
    x, y, eps = m["x"][:n], m["y"][:n], m["eps"]
    xp, yp = m["xp"], m["yp"]
    if n < len(m["x"]):
        xp = os.path.join(ctx["tmp"], "%s_x%d.npy" % (mname, n))
        yp = os.path.join(ctx["tmp"], "%s_y%d.npy" % (mname, n))
        if not os.path.exists(xp):
            np.save(xp, x)
            np.save(yp, y)
    atk = make_attack(m["model"], eps)
    try:
        adv_j, summary, adv_t, tj, tt = run_pair(ctx["jatp"], m["path"], xp, yp, attack, opts,
                                                 lambda: atk(torch.from_numpy(x), torch.from_numpy(y)))
        acc_j = validate(adv_j, x, y, eps, m["model"], summary, m["clean_ok"][:n])
    except Skip as e:
        skip(name, e)
        return
    except Fail as e:
        fail(name, e)
        return
    rj = preds(m["model"], adv_j) == y
    rt = preds(m["model"], adv_t) == y
    acc_t = rt.mean()
    pbar = 0.5 * (acc_j + acc_t)
    if n >= 1000:
        margin, how = 0.01, "1 pp"
    else:
        margin = max(0.01, 3 * math.sqrt(max(pbar * (1 - pbar), 1e-12) / n))
        how = "%.1f pp: N < 1000, binomial 3-sigma" % (100 * margin)
    d = acc_j - acc_t
    msg = ("N=%d, robust accuracy jatp %.2f%% torchattacks %.2f%%, diff %+.2f pp (margin %s), robust only for "
           "jatp %d / only for torchattacks %d, jatp %.1f s, torch %.1f s" %
           (n, 100 * acc_j, 100 * acc_t, 100 * d, how, int((rj & ~rt).sum()), int((rt & ~rj).sum()), tj, tt))
    if abs(d) > margin + 1e-12:
        fail(name, msg)
    else:
        ok(name, msg)


def aa_torch(model, eps, queries):
    """AutoAttack standard composed from torchattacks' components with 100 iterations (section 6;
    torchattacks' own AutoAttack class silently uses fewer): APGD-CE -> APGD-T -> FAB-T -> Square,
    each on the points still robust, starting from the clean images."""
    import torch
    import torchattacks

    comps = [torchattacks.APGD(model, norm="Linf", eps=eps, steps=100, n_restarts=1, loss="ce", seed=0),
             torchattacks.APGDT(model, norm="Linf", eps=eps, steps=100, n_restarts=1, n_classes=10, seed=0),
             torchattacks.FAB(model, norm="Linf", eps=eps, steps=100, n_restarts=1, multi_targeted=True,
                              n_classes=10, seed=0),
             torchattacks.Square(model, norm="Linf", eps=eps, n_queries=queries, n_restarts=1, p_init=0.8,
                                 loss="margin", resc_schedule=False, seed=0)]

    def run(x, y):
        adv = x.clone()
        with torch.no_grad():
            robust = model(x).argmax(1) == y
        for atk in comps:
            idx = robust.nonzero()[:, 0]
            if len(idx) == 0:
                break
            a = atk(x[idx], y[idx]).detach()
            with torch.no_grad():
                broke = model(a).argmax(1) != y[idx]
            adv[idx[broke]] = a[broke]
            robust[idx[broke]] = False
        return adv
    return run


def main():
    args = sys.argv[1:]
    full = "--full" in args
    keep = None
    if "--keep" in args:
        i = args.index("--keep")
        keep = args[i + 1]
        del args[i:i + 2]
    args = [a for a in args if a != "--full"]
    build = args.pop(0) if args else "build"
    filt = args.pop(0) if args else None
    require = os.environ.get("JATP_REQUIRE_ORT") == "1"
    try:
        import torch
        import torchattacks
    except ImportError as e:
        why = "torch/torchattacks not importable by %s (%s); scripts/install-deps installs torchattacks into .venv" % (
            sys.executable, e)
        (fail if require else skip)("torchattacks", why + ("; JATP_REQUIRE_ORT=1" if require else ""))
        print("%d passed, %d failed, %d skipped" % tuple(counts), flush=True)
        return 1 if counts[1] else 0
    import ta_models as tm
    print("# torch %s, torchattacks %s, %s" % (torch.__version__, torchattacks.__version__,
                                               "full settings" if full else "CI settings (--full for the long ones)"),
          flush=True)
    torch.set_num_threads(1)
    t_start = time.time()

    tmp = keep or tempfile.mkdtemp(prefix="jatp-ta-")
    os.makedirs(tmp, exist_ok=True)
    try:
        jatp = Jatp(build, tmp)
        jatp_err = jatp.available()
        ctx = dict(jatp=jatp, jatp_err=jatp_err, tmp=tmp, filter=filt, models={})
        if not filt or filt in "torchattacks step-sign linear pgd-1 (jatp)":
            check_step_sign(jatp, tmp, jatp_err)

        n_max = {"cnn28": 1000, "cnn32": 1000 if full else 500}
        for mname in ("cnn28", "cnn32"):
            t0 = time.time()
            model, x, y, desc = tm.build(mname, n_max[mname])
            for p in model.parameters():
                p.requires_grad_(False)
            path = os.path.join(tmp, mname + ".onnx")
            tm.export(model, x.shape[1:], path)
            xp, yp = os.path.join(tmp, mname + "_x.npy"), os.path.join(tmp, mname + "_y.npy")
            np.save(xp, x)
            np.save(yp, y)
            clean_ok = preds(model, x) == y
            ctx["models"][mname] = dict(model=model, x=x, y=y, path=path, xp=xp, yp=yp, eps=EPS[mname],
                                        clean_ok=clean_ok)
            print("# %s: %s, %d test points, clean accuracy %.2f%%, eps %.5f (built in %.1f s)" %
                  (mname, desc, len(x), 100 * clean_ok.mean(), EPS[mname], time.time() - t0), flush=True)
            if not filt or filt in mname + " onnx-vs-torch":
                check_same_function(jatp, jatp_err, mname, model, path, xp, x)

        # ---- deterministic
        for mname in ("cnn28", "cnn32"):
            m = ctx["models"][mname]
            eps = m["eps"]
            x, y = torch.from_numpy(m["x"]), torch.from_numpy(m["y"])
            deterministic(ctx, mname, "pgd", "pgd",
                          ["--eps", repr(eps), "--step-size", "0.01", "--steps", 40, "--no-random-start", "--loss", "ce"],
                          lambda: torchattacks.PGD(m["model"], eps=eps, alpha=0.01, steps=40, random_start=False)(x, y))
        m = ctx["models"]["cnn32"]
        eps32 = m["eps"]
        x32, y32 = torch.from_numpy(m["x"]), torch.from_numpy(m["y"])
        deterministic(ctx, "cnn32", "ti-bim", "ti-bim",
                      ["--eps", repr(eps32), "--step-size", "0.007", "--steps", 40, "--ti-kernel", 15, "--ti-nsig", 3,
                       "--momentum", 0, "--diversity-prob", 0, "--no-random-start"],
                      lambda: torchattacks.TIFGSM(m["model"], eps=eps32, alpha=0.007, steps=40, decay=0.0,
                                                  kernel_name="gaussian", len_kernel=15, nsig=3, resize_rate=0.9,
                                                  diversity_prob=0.0, random_start=False)(x32, y32))
        m = ctx["models"]["cnn28"]
        eps28 = m["eps"]
        x28, y28 = torch.from_numpy(m["x"]), torch.from_numpy(m["y"])
        deterministic(ctx, "cnn28", "mi", "mi",
                      ["--eps", repr(eps28), "--step-size", repr(2 / 255), "--steps", 10, "--momentum", 1.0],
                      lambda: torchattacks.MIFGSM(m["model"], eps=eps28, alpha=2 / 255, steps=10, decay=1.0)(x28, y28))
        check_pgd_dlr(ctx, "cnn28", 40)

        # ---- statistical
        queries = 5000 if full else 1000
        stat_models = ("cnn28", "cnn32") if full else ("cnn28",)
        n_stat = {"apgd-ce": 1000, "apgd-dlr": 1000, "apgd-t": 1000, "fab-t": 1000 if full else 400,
                  "square": 1000}
        for mname in stat_models:
            eps = ctx["models"][mname]["eps"]
            e = ["--eps", repr(eps)]
            statistical(ctx, mname, "apgd-ce", "apgd-ce", e + ["--steps", 100, "--restarts", 1],
                        lambda mod, ep: torchattacks.APGD(mod, norm="Linf", eps=ep, steps=100, n_restarts=1, loss="ce",
                                                          seed=0), n_stat["apgd-ce"])
            statistical(ctx, mname, "apgd-dlr", "apgd-dlr", e + ["--steps", 100, "--restarts", 1],
                        lambda mod, ep: torchattacks.APGD(mod, norm="Linf", eps=ep, steps=100, n_restarts=1,
                                                          loss="dlr", seed=0), n_stat["apgd-dlr"])
            statistical(ctx, mname, "apgd-t", "apgd-t", e + ["--steps", 100, "--targets", 9],
                        lambda mod, ep: torchattacks.APGDT(mod, norm="Linf", eps=ep, steps=100, n_restarts=1,
                                                           n_classes=10, seed=0), n_stat["apgd-t"])
            statistical(ctx, mname, "fab-t", "fab-t", e + ["--steps", 100, "--targets", 9],
                        lambda mod, ep: torchattacks.FAB(mod, norm="Linf", eps=ep, steps=100, n_restarts=1,
                                                         multi_targeted=True, n_classes=10, seed=0), n_stat["fab-t"])
            statistical(ctx, mname, "square", "square",
                        e + ["--queries", queries, "--p-init", 0.8, "--square-shared-window"],
                        lambda mod, ep: torchattacks.Square(mod, norm="Linf", eps=ep, n_queries=queries, n_restarts=1,
                                                            p_init=0.8, loss="margin", resc_schedule=False, seed=0),
                        n_stat["square"])
            if full:
                statistical(ctx, mname, "aa", "aa", e, lambda mod, ep: aa_torch(mod, ep, queries), 1000)
        print("# total %.1f s" % (time.time() - t_start), flush=True)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed, %d skipped" % tuple(counts), flush=True)
    return 1 if counts[1] else 0


if __name__ == "__main__":
    sys.exit(main())
