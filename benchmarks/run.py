"""Benchmarks: nnlib against scikit-learn, a naive implementation and bare NumPy.

    make bench            (or: python benchmarks/run.py [--quick] [--out FILE])

Prints a table and writes the figures as JSON (default benchmarks/results.json).
Every comparison is measured in the same run, side by side, one BLAS thread,
as a median over seeds or repeats; the ratios matter more than the absolute
times, which depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

import nnlib
from nnlib import Adam, BinaryCrossEntropy, Dense, Model, ReLU, Sigmoid, SoftmaxCrossEntropy

MOONS_HIDDEN = (25, 50, 50, 25)  # the architecture of source B's original code
TARGET = 0.95


def median(xs):
    return float(statistics.median(xs))


def relu_net(sizes, output=None, rng=0):
    """Dense layers of the given sizes with ReLU between them and ``output`` ("sigmoid",
    or None for logits) after the last: He initialisation before each ReLU, Xavier for
    the output layer, as Model.from_architecture does by default."""
    activations = ["relu"] * (len(sizes) - 2) + [output]
    spec = [{"input_dim": a, "output_dim": b, "activation": act}
            for a, b, act in zip(sizes[:-1], sizes[1:], activations)]
    return Model.from_architecture(spec, rng=rng)


# -- 1. two moons: time to first reach 95 % test accuracy ---------------------------------
def moons_data(seed):
    X, y = make_moons(n_samples=1000, noise=0.2, random_state=seed)
    return train_test_split(X, y, test_size=0.2, random_state=seed)


def nnlib_moons_model(seed):
    """The moons network, started the way MLPClassifier starts its own.

    MLPClassifier draws weights *and biases* from the Glorot uniform range
    U(-a, a), a = sqrt(6 / (fan_in + fan_out)); nnlib's Dense starts biases at
    zero. Both are drawn here as scikit-learn does, so that the race compares
    implementations rather than initialisations (chapter 8 shows the effect
    of the biases on its own).
    """
    sizes = (2, *MOONS_HIDDEN, 1)
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        dense = Dense(a, b, init="zeros")
        limit = np.sqrt(6.0 / (a + b))
        dense.params["W"][...] = rng.uniform(-limit, limit, size=(a, b))
        dense.params["b"][...] = rng.uniform(-limit, limit, size=b)
        layers += [dense, ReLU() if i < len(sizes) - 2 else Sigmoid()]
    return Model(layers)


def time_to_target(train_one_epoch, test_accuracy, max_epochs):
    """Training time (evaluation excluded) until test accuracy first reaches TARGET."""
    spent = 0.0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        train_one_epoch(epoch)
        spent += time.perf_counter() - start
        if test_accuracy() >= TARGET:
            return spent, epoch
    return float("nan"), None


def moons_nnlib(seed, batch_size=32):
    Xtr, Xte, ytr, yte = moons_data(seed)
    model, opt, loss = nnlib_moons_model(seed), Adam(1e-3), BinaryCrossEntropy()
    gen = np.random.default_rng(seed)
    return time_to_target(
        lambda e: model.fit(Xtr, ytr, loss=loss, optimizer=opt, epochs=1, batch_size=batch_size, rng=gen),
        lambda: nnlib.accuracy(yte, model.predict(Xte)),
        max_epochs=500,
    )


def moons_sklearn(seed, batch_size=32):
    Xtr, Xte, ytr, yte = moons_data(seed)
    clf = MLPClassifier(hidden_layer_sizes=MOONS_HIDDEN, solver="adam", learning_rate_init=1e-3,
                        batch_size=batch_size, random_state=seed)
    return time_to_target(
        lambda e: clf.partial_fit(Xtr, ytr, classes=[0, 1]),
        lambda: clf.score(Xte, yte),
        max_epochs=500,
    )


class NaiveNet:
    """Source-style network: samples as columns, dicts of parameters, N(0, 0.1^2) init
    scaled as in source B, full-batch gradient descent, string comparisons per layer."""

    def __init__(self, sizes, seed):
        rng = np.random.default_rng(seed)
        self.p = {}
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
            self.p[f"W{i}"] = rng.standard_normal((b, a)) * np.sqrt(2 / a)
            self.p[f"b{i}"] = np.zeros((b, 1))
        self.acts = ["relu"] * (len(sizes) - 2) + ["sigmoid"]

    def forward(self, X):
        A, memory = X, []
        for i, act in enumerate(self.acts, 1):
            Z = self.p[f"W{i}"] @ A + self.p[f"b{i}"]
            memory.append((A, Z))
            A = np.maximum(0, Z) if act == "relu" else 1 / (1 + np.exp(-Z))
        return A, memory

    def step(self, X, Y, lr):
        A, memory = self.forward(X)
        m = X.shape[1]
        A = np.clip(A, 1e-12, 1 - 1e-12)
        dA = -(Y / A - (1 - Y) / (1 - A))
        for i in range(len(self.acts), 0, -1):
            A_prev, Z = memory[i - 1]
            if self.acts[i - 1] == "relu":
                dZ = dA.copy()
                dZ[Z <= 0] = 0
            else:
                s = 1 / (1 + np.exp(-Z))
                dZ = dA * s * (1 - s)
            dW = dZ @ A_prev.T / m
            db = dZ.sum(axis=1, keepdims=True) / m
            dA = self.p[f"W{i}"].T @ dZ
            self.p[f"W{i}"] -= lr * dW
            self.p[f"b{i}"] -= lr * db


def moons_naive(seed, lr=0.01, max_epochs=20000):
    Xtr, Xte, ytr, yte = moons_data(seed)
    net = NaiveNet((2, *MOONS_HIDDEN, 1), seed)
    Xc, Yc = Xtr.T, ytr.reshape(1, -1)

    # Evaluating after every one of thousands of epochs would dominate; check every 50.
    def train(epoch):
        net.step(Xc, Yc, lr)

    spent, reached = 0.0, None
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        train(epoch)
        spent += time.perf_counter() - start
        if epoch % 50 == 0:
            acc = float(np.mean((net.forward(Xte.T)[0].ravel() > 0.5) == yte))
            if acc >= TARGET:
                reached = epoch
                break
    return (spent, reached) if reached else (float("nan"), None)


# -- 2. digits: training throughput -------------------------------------------------------
def floor_epoch_seconds(X, sizes, dtype, batch=64):
    """Time of one epoch of the work that no NumPy implementation of Adam training can skip.

    Per batch: the matrix products of a step (forward, the weight gradients, and
    the input gradients of every layer but the first, as both libraries do) and
    Adam's one square root and one division per parameter. No bias, activation,
    loss or other part of the update: this bounds how fast any library built on
    the same NumPy and BLAS can train, and so the best ratio it can reach.
    """
    rng = np.random.default_rng(0)
    Ws = [rng.normal(size=(a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    n_params = sum(W.size + W.shape[1] for W in Ws)
    v = rng.random(n_params).astype(dtype)
    m, tmp = rng.normal(size=n_params).astype(dtype), np.empty(n_params, dtype)
    X = X.astype(dtype)
    start = time.perf_counter()
    for s in range(0, len(X), batch):
        acts = [X[s : s + batch]]
        for W in Ws:
            acts.append(acts[-1] @ W)
        g = acts[-1]
        for i in range(len(Ws) - 1, -1, -1):
            acts[i].T @ g
            if i:
                g = g @ Ws[i].T
        np.sqrt(v, out=tmp)
        np.divide(m, tmp, out=tmp)
    return time.perf_counter() - start


def digits_throughput(hidden, epochs, repeats):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    n = len(X)
    res = {"nnlib": [], "nnlib_float32": [], "sklearn": [], "sklearn_float32": [], "floor": [], "floor_float32": []}
    for r in range(repeats):
        sizes = (64, *hidden)
        for key, dtype in (("floor", np.float64), ("floor_float32", np.float32)):
            res[key].append(epochs * n / sum(floor_epoch_seconds(X, (*sizes, 10), dtype) for _ in range(epochs)))
        for key, dtype in (("nnlib", np.float64), ("nnlib_float32", np.float32)):
            model = relu_net((*sizes, 10), rng=r).astype(dtype)
            start = time.perf_counter()
            model.fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=Adam(1e-3), epochs=epochs, batch_size=64, rng=r)
            res[key].append(epochs * n / (time.perf_counter() - start))
        for key, dtype in (("sklearn", np.float64), ("sklearn_float32", np.float32)):
            clf = MLPClassifier(hidden_layer_sizes=hidden, solver="adam", batch_size=64, max_iter=epochs,
                                tol=0.0, n_iter_no_change=10**6, random_state=r, shuffle=True)
            Xd = X.astype(dtype)  # MLPClassifier trains in float32 when given float32
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # we stop after `epochs` on purpose
                start = time.perf_counter()
                clf.fit(Xd, y)
                res[key].append(epochs * n / (time.perf_counter() - start))
    return {k: median(v) for k, v in res.items()}


# -- 3. overhead: one nnlib step against the same step in bare NumPy -----------------------
def overhead_model(hidden=(64, 64)):
    """The network of the overhead benchmark: 2 inputs, ReLU hidden layers, one sigmoid output."""
    return relu_net((2, *hidden, 1), "sigmoid")


def bare_numpy_step(X, y, ps, ms, vs, t, lr=1e-3):
    """One training step written out in plain NumPy, as a reader would write it: forward
    through ReLU layers to a sigmoid, binary cross-entropy, backward, then Adam (step t)
    on each array of ps = [W1, b1, W2, b2, ...] in place. tests/test_benchmarks.py checks
    it against nnlib's step."""
    Ws, bs = ps[0::2], ps[1::2]
    acts, masks = [X], []
    for W, b in zip(Ws[:-1], bs[:-1]):
        z = acts[-1] @ W + b
        masks.append(z > 0)
        acts.append(np.maximum(z, 0.0))
    z = acts[-1] @ Ws[-1] + bs[-1]
    e = np.exp(-np.abs(z))
    r = 1 / (1 + e)
    p = np.where(z >= 0, r, e * r)
    g = (p - y) / len(y)
    gs = []
    for i in range(len(Ws) - 1, -1, -1):
        gs[:0] = [acts[i].T @ g, g.sum(axis=0)]
        if i:
            g = (g @ Ws[i].T) * masks[i - 1]
    c = lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
    for P, G, M, V in zip(ps, gs, ms, vs):
        M *= 0.9
        M += 0.1 * G
        V *= 0.999
        V += 0.001 * (G * G)
        P -= c * M / (np.sqrt(V) + 1e-8 * np.sqrt(1 - 0.999**t))


def overhead(repeats, steps=400, batch=32):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(batch, 2))
    y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    model = overhead_model()
    loss, opt = BinaryCrossEntropy(), Adam(1e-3)
    params, grads = model.parameters(), model.gradients()

    def nnlib_steps():
        for _ in range(steps):
            model._backprop(X, y, loss, True)
            opt._step(params, grads)

    ps = [p.copy() for p in params]  # W1, b1, W2, b2, ...
    ms, vs = [np.zeros_like(p) for p in ps], [np.zeros_like(p) for p in ps]
    t = [0]

    def bare_steps():
        for _ in range(steps):
            t[0] += 1
            bare_numpy_step(X, y, ps, ms, vs, t[0])

    def per_step(fn):
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) / steps

    nn, bare = [], []
    for _ in range(repeats):
        nn.append(per_step(nnlib_steps))
        bare.append(per_step(bare_steps))
    return {"nnlib_us": median(nn) * 1e6, "bare_numpy_us": median(bare) * 1e6}


# -- 4. share of the measured matrix-multiply peak at a large batch ------------------------
def peak_share(repeats, batch=2048, sizes=(256, 1024, 1024, 10)):
    A = np.random.default_rng(0).normal(size=(1024, 1024))
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        A @ A
        times.append(time.perf_counter() - start)
    peak = 2 * 1024**3 / min(times[1:])
    rng = np.random.default_rng(1)
    X = rng.normal(size=(batch * 4, sizes[0]))
    y = rng.integers(0, sizes[-1], size=batch * 4)
    model = relu_net(sizes, rng=9)
    # Per sample and layer: forward 2*a*b, dW 2*a*b, dX 2*a*b except for the first
    # layer, whose input gradient fit does not compute.
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    flops_per_sample = 4 * sum(products) + 2 * sum(products[1:])
    rates = []
    for r in range(repeats):
        start = time.perf_counter()
        model.fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=Adam(1e-3), epochs=1, batch_size=batch, rng=r)
        rates.append(flops_per_sample * len(X) / (time.perf_counter() - start))
    return {"peak_gflops": peak / 1e9, "training_gflops": median(rates) / 1e9}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer seeds and repeats (a smoke run)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = ap.parse_args()
    seeds = range(2) if args.quick else range(5)
    repeats = 2 if args.quick else 5
    out: dict = {"machine": platform.processor() or platform.machine(), "numpy": np.__version__,
                 "nnlib": nnlib.__version__, "blas_threads": 1}
    with threadpool_limits(1):
        moons = {"nnlib_adam_batch32": [], "sklearn_adam_batch32": [], "naive_full_batch_gd": []}
        epochs = {k: [] for k in moons}
        for seed in seeds:
            for key, fn in (("nnlib_adam_batch32", moons_nnlib), ("sklearn_adam_batch32", moons_sklearn),
                            ("naive_full_batch_gd", moons_naive)):
                t, e = fn(seed)
                moons[key].append(t)
                epochs[key].append(e)
        out["moons_seconds_to_95"] = {k: median(v) for k, v in moons.items()}
        out["moons_epochs_to_95"] = epochs
        out["digits_samples_per_s"] = {
            "64-128-10": digits_throughput((128,), epochs=5 if args.quick else 10, repeats=repeats),
            "64-256-128-10": digits_throughput((256, 128), epochs=5 if args.quick else 10, repeats=repeats),
        }
        out["step_overhead"] = overhead(repeats)
        out["large_batch"] = peak_share(repeats)

    m = out["moons_seconds_to_95"]
    rows = [
        ("moons: s to 95 % test acc, nnlib Adam b32", f"{m['nnlib_adam_batch32']:.3f}", ""),
        ("moons: s to 95 %, scikit-learn Adam b32", f"{m['sklearn_adam_batch32']:.3f}",
         f"nnlib/sklearn = {m['nnlib_adam_batch32'] / m['sklearn_adam_batch32']:.2f}x"),
        ("moons: s to 95 %, naive full-batch GD", f"{m['naive_full_batch_gd']:.3f}",
         f"nnlib/naive = {m['nnlib_adam_batch32'] / m['naive_full_batch_gd']:.3f}x"),
    ]
    for arch, d in out["digits_samples_per_s"].items():
        rows.append((f"digits {arch}: samples/s nnlib, float64 (float32)",
                     f"{d['nnlib']:,.0f} ({d['nnlib_float32']:,.0f})",
                     f"nnlib/sklearn = {d['nnlib'] / d['sklearn']:.2f}x "
                     f"({d['nnlib_float32'] / d['sklearn_float32']:.2f}x)"))
        rows.append((f"digits {arch}: samples/s scikit-learn, float64 (float32)",
                     f"{d['sklearn']:,.0f} ({d['sklearn_float32']:,.0f})", ""))
        rows.append((f"digits {arch}: samples/s of the floor, float64 (float32)",
                     f"{d['floor']:,.0f} ({d['floor_float32']:,.0f})",
                     f"best possible = {d['floor'] / d['sklearn']:.2f}x ({d['floor_float32'] / d['sklearn_float32']:.2f}x)"))
    o = out["step_overhead"]
    rows.append(("step (fwd+bwd+Adam, b32): nnlib / bare NumPy, us",
                 f"{o['nnlib_us']:.0f} / {o['bare_numpy_us']:.0f}", f"ratio {o['nnlib_us'] / o['bare_numpy_us']:.2f}x"))
    lb = out["large_batch"]
    rows.append(("large batch: training / matmul peak, GFLOP/s",
                 f"{lb['training_gflops']:.1f} / {lb['peak_gflops']:.1f}",
                 f"{100 * lb['training_gflops'] / lb['peak_gflops']:.0f} % of peak"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{w0}}  {r[1]:>{w1}}  {r[2]}")
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
