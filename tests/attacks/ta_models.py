"""Small PyTorch classifiers, data and ONNX export for tests/attacks/check_torchattacks.py and
benchmarks/attack_bench.py.

Two classifiers with fixed seeds, small enough to attack quickly on 2 CPU cores:
  cnn28  1x28x28 -> 10: Conv(1,8,3,s2)-ReLU-Conv(8,16,3,s2)-ReLU-Linear(784,10), trained on
         Fashion-MNIST (Debian's dataset-fashion-mnist) when installed, else on synthetic data;
  cnn32  3x32x32 -> 10: Conv(3,8,3,s2)-BN-ReLU-Conv(8,16,3,s2)-ReLU-Linear(1024,10),
         trained on synthetic data (class prototypes mixed with a second class plus noise), so
         that margins vary from point to point.
Training (Adam, label smoothing 0.1 to keep the softmax away from saturation) is single-threaded with
a fixed seed and fixed batch order (deterministic on one machine).
Models are exported at opset 17 with a dynamic batch axis by tests/fixtures/gen_models.export (eval
mode, BatchNorm folded into the convolution).
"""
import gzip
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FMNIST_DIRS = ("/usr/share/datasets/fashion-mnist", "/usr/share/dataset-fashion-mnist")
SEED = 20251126


class CNN28(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 2, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 2, 1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


class CNN32(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, 2, 1)
        self.fc = nn.Linear(16 * 8 * 8, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = struct.unpack(">I", data[:4])[0] & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fmnist():
    """(xtr, ytr, xte, yte) as float32 N x 1 x 28 x 28 in [0,1] and int64, or None."""
    for d in FMNIST_DIRS:
        try:
            xs = [_read_idx(os.path.join(d, n + "-images-idx3-ubyte.gz")) for n in ("train", "t10k")]
            ys = [_read_idx(os.path.join(d, n + "-labels-idx1-ubyte.gz")) for n in ("train", "t10k")]
        except OSError:
            continue
        xs = [(x.astype(np.float32) / 255.0)[:, None] for x in xs]
        ys = [y.astype(np.int64) for y in ys]
        return xs[0], ys[0], xs[1], ys[1]
    return None


def synthetic(n, shape, seed, amp=0.25):
    """Images x = clip(0.5 + amp*(a*P_y + (1-a)*P_z) + noise, 0, 1): P_k smooth random class
    prototypes (a fixed generator, the same for every call), z a random other class, a ~ U(0.6, 1),
    noise N(0, 0.03^2). Returns float32 images and int64 labels."""
    c, h, w = shape
    g = np.random.default_rng(SEED)
    low = torch.from_numpy(g.standard_normal((10, c, 4, 4)).astype(np.float32))
    protos = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False).numpy()
    protos /= np.abs(protos).max(axis=(1, 2, 3), keepdims=True)
    r = np.random.default_rng(seed)
    y = r.integers(0, 10, n)
    z = (y + r.integers(1, 10, n)) % 10
    a = r.uniform(0.6, 1.0, n).astype(np.float32)[:, None, None, None]
    x = 0.5 + amp * (a * protos[y] + (1 - a) * protos[z]) + 0.03 * r.standard_normal((n, c, h, w))
    return np.clip(x, 0, 1).astype(np.float32), y.astype(np.int64)


def train(model, x, y, steps, lr=3e-3, batch=128, seed=SEED, label_smoothing=0.1):
    """Adam on (x, y) for `steps` minibatches; single thread; returns the model in eval mode.
    Label smoothing keeps the logits moderate: on a saturated softmax (1 - p_y below float32's
    resolution) PyTorch's float32 cross-entropy loses the -(1 - p_y) w_y term of the gradient, so
    torchattacks would step in a different direction than an exact implementation."""
    nthr = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = torch.Generator()
        g.manual_seed(seed)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        perm = torch.randperm(len(x), generator=g)
        pos = 0
        for _ in range(steps):
            if pos + batch > len(x):
                perm = torch.randperm(len(x), generator=g)
                pos = 0
            idx = perm[pos:pos + batch]
            pos += batch
            opt.zero_grad()
            F.cross_entropy(model(xt[idx]), yt[idx], label_smoothing=label_smoothing).backward()
            opt.step()
    finally:
        torch.set_num_threads(nthr)
    return model.eval()


def build(name, n_test, steps=None):
    """(model, x_test, y_test, data description) for 'cnn28' or 'cnn32'; x_test has n_test points."""
    torch.manual_seed(SEED + (0 if name == "cnn28" else 1))
    if name == "cnn28":
        model = CNN28()
        data = fmnist()
        if data is not None:
            xtr, ytr, xte, yte = data
            desc = "Fashion-MNIST"
        else:
            xtr, ytr = synthetic(20000, (1, 28, 28), SEED + 10)
            xte, yte = synthetic(max(n_test, 1), (1, 28, 28), SEED + 11)
            desc = "synthetic 1x28x28"
        train(model, xtr, ytr, steps or 600)
    elif name == "cnn32":
        model = CNN32()
        xtr, ytr = synthetic(10000, (3, 32, 32), SEED + 20, amp=0.3)
        xte, yte = synthetic(max(n_test, 1), (3, 32, 32), SEED + 21, amp=0.3)
        desc = "synthetic 3x32x32"
        train(model, xtr, ytr, steps or 200)
    else:
        raise ValueError(name)
    return model, np.ascontiguousarray(xte[:n_test]), np.ascontiguousarray(yte[:n_test]), desc


def export(model, shape, path):
    """ONNX opset 17, dynamic batch (tests/fixtures/gen_models.export)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
    import gen_models  # noqa: E402  (imports onnx)
    return gen_models.export(model, shape, path)


def logits(model, x, batch=1000):
    with torch.no_grad():
        return torch.cat([model(torch.from_numpy(x[i:i + batch])) for i in range(0, len(x), batch)]).numpy()
