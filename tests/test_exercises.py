"""The exercise checkers (the coursework package) and the exercises in the chapter notebooks.

For every checker: the model solution published in the notebook passes, its stub says
NOT DONE YET, and several wrong answers (a constant, a wrong shape, a formula off by a
factor, the classic mistake of the exercise, and more) fail with a message that says
what is wrong. Then the JSON log, the output rules (one verdict line, deterministic, no
leaked warnings, never raising, no library shortcut, no silenced overflow), and the agreement
between the notebooks and the registry.
"""

from __future__ import annotations

import ast
import copy
import json
import pickle
import re
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest

import nnlib
import coursework as ex
from coursework import _checking
from nnlib import SGD, Dense, Model, ReLU, Sigmoid, Tanh, sigmoid

CHAPTERS = sorted((Path(__file__).resolve().parent.parent / "chapters").glob("[0-9][0-9]_*.ipynb"))
STUB_LINE = "raise NotImplementedError(\"write your solution here\")"
# A PASS: the number of checks, and for an experiment exercise what was measured against its target.
PASS_TEXT = r"PASS \(\d+ checks(: [^\n()]*(\([^\n()]*\)[^\n()]*)*)?\)"
LABEL_RE = re.compile(r"^```\{exercise\}\s*\n:label: (ex-(\d\d)-[a-z0-9-]+)\s*\n", re.M)


# -- reading the exercises out of the notebooks ---------------------------------------------------
def _read_exercises():
    """Every exercise in book order: label, chapter file, statement, solution cells, check cell."""
    found = []
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        cells = nb.cells
        imports = None
        for i, cell in enumerate(cells):
            if cell.cell_type == "markdown" and cell.source.startswith("## Exercises"):
                imports = cells[i + 1].source
            match = LABEL_RE.match(cell.source) if cell.cell_type == "markdown" else None
            if not match:
                continue
            assert cells[i + 1].source.startswith("```{solution-start} " + match.group(1)), match.group(1)
            j = i + 2
            solutions = []
            while not cells[j].source.startswith("```{solution-end}"):
                solutions.append(cells[j])
                j += 1
            extras = [c for c in solutions if c.metadata.get("nnlib", {}).get("extra")]
            solutions = [c for c in solutions if c not in extras]
            check = cells[j + 1] if j + 1 < len(cells) and "check" in cells[j + 1].metadata.get("tags", []) else None
            found.append(dict(label=match.group(1), chapter=int(match.group(2)), path=path, statement=cell,
                              solutions=solutions, extras=extras, check=check, imports=imports))
    return found


EXERCISE_CELLS = _read_exercises()
CODING = {e["label"]: e for e in EXERCISE_CELLS if e["check"] is not None}


def _namespace(label: str) -> dict:
    """What a notebook has defined when it reaches the exercise: numpy, nnlib and the section's imports."""
    ns: dict = {}
    exec("import json\nimport numpy as np\nfrom nnlib import *", ns)
    exec(CODING[label]["imports"], ns)
    return ns


def run_notebook_check(label: str, capsys, source: str | None = None) -> str:
    """Define the solution (or ``source`` instead), run the notebook's check cell, return its output."""
    exercise = CODING[label]
    ns = _namespace(label)
    exec(source if source is not None else exercise["solutions"][0].source, ns)
    capsys.readouterr()
    exec(exercise["check"].source, ns)
    return capsys.readouterr().out


def run(checker, *funcs, capsys) -> str:
    capsys.readouterr()
    assert checker(*funcs) is None
    return capsys.readouterr().out


def assert_fail(out: str, label: str, *fragments: str) -> None:
    first = out.splitlines()[0]
    assert first.startswith(f"{label}: FAIL - "), out
    for fragment in fragments:
        assert fragment in out, f"{fragment!r} not in:\n{out}"


# -- the published solutions pass, the stubs are NOT DONE YET ------------------------------------------
@pytest.mark.parametrize("label", list(CODING))
def test_model_solution_passes(label, capsys):
    out = run_notebook_check(label, capsys)
    assert re.fullmatch(rf"{label}: {PASS_TEXT}\n", out), out


@pytest.mark.parametrize("label", list(CODING))
def test_stub_is_not_done_yet(label, capsys):
    stub = CODING[label]["solutions"][0].metadata["nnlib"]["stub"]
    out = run_notebook_check(label, capsys, source=stub)
    first_function = ast.parse(stub).body[0].name
    assert out == (f"{label}: NOT DONE YET - {first_function} raises NotImplementedError; "
                   "write your solution above and run this cell again.\n")


def own_sigmoid(z):
    """A reader's own sigmoid (nnlib's may not be called in chapter 1's exercise)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


# -- wrong answers, exercise by exercise -------------------------------------------------------------
def test_neuron_forward_wrong_answers(capsys):
    label, check = "ex-01-neuron-forward", ex.check_neuron_forward
    assert_fail(run(check, lambda X, w, b: np.full(X.shape[0], 0.5), capsys=capsys), label,
                "wrong values", "expected = [0.3775 0.6682 0.525 ]", "every value you returned is the same")
    assert_fail(run(check, lambda X, w, b: own_sigmoid(X @ w.reshape(-1, 1) + b), capsys=capsys), label,
                "has shape (3, 1)", "expected (3,)", ".ravel()")
    assert_fail(run(check, lambda X, w, b: 2 * own_sigmoid(X @ w + b), capsys=capsys), label,
                "every value is 2 times the expected one")
    # the classic mistakes: the textbook sigmoid overflows; the bias or the sigmoid forgotten
    assert_fail(run(check, lambda X, w, b: 1 / (1 + np.exp(-(X @ w + b))), capsys=capsys), label,
                "caused a warning: RuntimeWarning: overflow encountered in exp", "exponentiate only -|z|")
    assert_fail(run(check, lambda X, w, b: own_sigmoid(X @ w), capsys=capsys), label, "the bias b is missing")
    assert_fail(run(check, lambda X, w, b: X @ w + b, capsys=capsys), label, "pass them through the sigmoid")
    # right on the shown inputs only: a hidden case catches it
    def shown_only(X, w, b):
        return own_sigmoid(X @ w + b) if X.shape[1] == 3 or X.shape == (3, 1) else np.zeros(len(X))

    assert_fail(run(check, shown_only, capsys=capsys), label, "on hidden test 1",
                "a hidden test case with X of shape (7, 4)")


def test_tanh_derivative_wrong_answers(capsys):
    label, check = "ex-01-tanh-derivative", ex.check_tanh_derivative
    assert_fail(run(check, lambda z: 0.42, capsys=capsys), label, "has shape ()", "expected (3,)")
    assert_fail(run(check, lambda z: np.ones_like(z), capsys=capsys), label, "wrong values")
    assert_fail(run(check, lambda z: (1 - np.tanh(z) ** 2).ravel(), capsys=capsys), label,
                "has shape (4,) on a (2, 2) array")
    assert_fail(run(check, lambda z: 2 * (1 - np.tanh(z) ** 2), capsys=capsys), label, "2 times the expected")
    assert_fail(run(check, lambda z: 1 - z**2, capsys=capsys), label,
                "1 - z**2 uses the input z", "gradient check of tanh: relative error 8.1e-01")
    assert_fail(run(check, lambda z: 1 - np.tanh(z), capsys=capsys), label, "the square is missing")


def test_tanh_derivative_accepts_an_equivalent_formula(capsys):
    out = run(ex.check_tanh_derivative, lambda z: 1 / np.cosh(z) ** 2, capsys=capsys)
    assert out.startswith("ex-01-tanh-derivative: PASS")


def test_gate_weights_wrong_answers(capsys):
    label, check = "ex-01-gate-weights", ex.check_gate_weights
    assert_fail(run(check, lambda gate: (np.array([10.0, 10.0]), -15.0), capsys=capsys), label,
                "the neuron for OR is wrong", "<- off by 0.1 or more")
    assert_fail(run(check, lambda gate: (np.array([10.0, 10.0, 0.0]), -15.0), capsys=capsys), label,
                "w of gate AND has shape (3,), expected (2,)")
    assert_fail(run(check, lambda gate: np.array([10.0, 10.0, -15.0]), capsys=capsys), label,
                "must return a pair (w, b)")
    # off by a factor: the right boundaries with unit weights are not decisive enough
    small = {"AND": ([1, 1], -1.5), "OR": ([1, 1], -0.5), "NAND": ([-1, -1], 1.5), "NOR": ([-1, -1], 0.5)}
    assert_fail(run(check, lambda gate: (np.array(small[gate][0], float), small[gate][1]), capsys=capsys), label,
                "the neuron for AND is wrong", "0.3775")
    # the classic mistake: no bias (the corner (0, 0) always gives 0.5)
    assert_fail(run(check, lambda gate: (np.array([10.0, 10.0]), 0.0), capsys=capsys), label,
                " 0   0     0    0.5000   <- off by 0.1 or more", "b = 0.0;")


def test_dense_forward_wrong_answers(capsys):
    label, check = "ex-02-dense-forward", ex.check_dense_forward
    assert_fail(run(check, lambda X, W, b: np.ones((X.shape[0], W.shape[1])), capsys=capsys), label,
                "every value you returned is the same")
    assert_fail(run(check, lambda X, W, b: (X @ W + b).T, capsys=capsys), label,
                "has shape (2, 4)", "one column per sample (source B's layout)")
    assert_fail(run(check, lambda X, W, b: 0.5 * (X @ W + b), capsys=capsys), label, "0.5 times the expected")
    assert_fail(run(check, lambda X, W, b: X @ W, capsys=capsys), label, "the bias b is missing")
    # W transposed only goes through the shape checks for a square W: a hidden case
    transposed = lambda X, W, b: X @ W.T + b if W.shape[0] == W.shape[1] else X @ W + b  # noqa: E731
    assert_fail(run(check, transposed, capsys=capsys), label, "on hidden test 2", "W is used transposed",
                "first difference at index (0, 0)")


def test_count_parameters_wrong_answers(capsys):
    label, check = "ex-02-count-parameters", ex.check_count_parameters
    assert_fail(run(check, lambda sizes: 49, capsys=capsys), label,
                "wrong count for source B's 2-4-6-6-4-1 network", "expected 117, got 49")
    assert_fail(run(check, lambda sizes: [49], capsys=capsys), label, "must return a single whole number")
    assert_fail(run(check, lambda sizes: 2 * sum(a * b + b for a, b in zip(sizes, sizes[1:])), capsys=capsys), label,
                "expected 49, got 98")
    assert_fail(run(check, lambda sizes: sum(a * b for a, b in zip(sizes, sizes[1:])), capsys=capsys), label,
                "counts the weights only")
    assert_fail(run(check, lambda sizes: sum(a * b + a for a, b in zip(sizes, sizes[1:])), capsys=capsys), label,
                "n_out biases, one per neuron")
    assert_fail(run(check, lambda sizes: 2.5, capsys=capsys), label, "a count is a whole number")


def test_he_init_wrong_answers(capsys):
    label, check = "ex-02-he-init", ex.check_he_init
    assert_fail(run(check, lambda i, o, rng: np.full((i, o), 0.1), capsys=capsys), label, "do not depend on rng")
    assert_fail(run(check, lambda i, o, rng: rng.standard_normal((o, i)) * np.sqrt(2 / i), capsys=capsys), label,
                "shape (2, 3), expected (3, 2)", "rows and columns are swapped")
    assert_fail(run(check, lambda i, o, rng: rng.standard_normal((i, o)) * 2 / i, capsys=capsys), label,
                "wrong spread", "2 / fan_in is the variance")
    assert_fail(run(check, lambda i, o, rng: rng.standard_normal((i, o)) / np.sqrt(i), capsys=capsys), label,
                "sqrt(1 / fan_in)")
    assert_fail(run(check, lambda i, o, rng: rng.standard_normal((i, o)) * np.sqrt(2 / o), capsys=capsys), label,
                "fan_out used instead of fan_in")
    assert_fail(run(check, lambda i, o, rng: rng.standard_normal((i, o)) * np.sqrt(2 / (i + o)), capsys=capsys), label,
                "Xavier's variance")
    assert_fail(run(check, lambda i, o, rng: np.random.standard_normal((i, o)) * np.sqrt(2 / i), capsys=capsys), label,
                "same seed gave different weights", "never from np.random")
    assert_fail(run(check, lambda i, o, rng: rng.uniform(-1, 1, (i, o)) * np.sqrt(6 / i), capsys=capsys), label,
                "not normally distributed", "0.0% of the weights")
    assert_fail(run(check, lambda i, o, rng: rng.standard_normal((i, o)) * np.sqrt(2 / i) + 0.05, capsys=capsys), label,
                "mean is")


def test_he_init_accepts_other_correct_draws(capsys):
    for answer in (lambda i, o, rng: rng.normal(0.0, np.sqrt(2 / i), size=(i, o)),
                   lambda i, o, rng: rng.standard_normal((o, i)).T * np.sqrt(2 / i)):
        assert run(ex.check_he_init, answer, capsys=capsys) == "ex-02-he-init: PASS (6 checks)\n"
    # nnlib's own He initialiser is right, but it is not the reader's
    assert_fail(run(ex.check_he_init, lambda i, o, rng: nnlib.get_initializer("he")(i, o, rng), capsys=capsys),
                "ex-02-he-init", "calls nnlib.initializers.he")


def test_sigmoid_backward_wrong_answers(capsys):
    label, check = "ex-03-sigmoid-backward", ex.check_sigmoid_backward
    assert_fail(run(check, lambda s, grad: np.full_like(s, 0.25), capsys=capsys), label, "wrong values")
    assert_fail(run(check, lambda s, grad: (grad * s * (1 - s)).ravel(), capsys=capsys), label,
                "has shape (3,)", "expected (1, 3)")
    assert_fail(run(check, lambda s, grad: 3 * grad * s * (1 - s), capsys=capsys), label, "3 times the expected")
    # source A's two mistakes
    assert_fail(run(check, lambda s, grad: s * (1 - s), capsys=capsys), label,
                "the incoming gradient grad is dropped", "gradient check of dL/dz: relative error 3.7e-01")
    assert_fail(run(check, lambda s, grad: grad * sigmoid(s) * (1 - sigmoid(s)), capsys=capsys), label,
                "no second sigmoid")

    def in_place(s, grad):
        grad *= s * (1 - s)
        return grad

    assert_fail(run(check, in_place, capsys=capsys), label, "modified its input grad in place")


def test_dense_backward_wrong_answers(capsys):
    label, check = "ex-03-dense-backward", ex.check_dense_backward
    zeros = lambda X, W, G: (np.zeros_like(X), np.zeros_like(W), np.zeros(W.shape[1]))  # noqa: E731
    assert_fail(run(check, zeros, capsys=capsys), label, "wrong values of dX", "every value you returned is the same")
    assert_fail(run(check, lambda X, W, G: (G @ W.T, X.T @ G, G.sum(axis=0, keepdims=True)), capsys=capsys), label,
                "db has shape (1, 2)", "sum without keepdims")
    assert_fail(run(check, lambda X, W, G: (X.T @ G, G @ W.T, G.sum(axis=0)), capsys=capsys), label,
                "dX has shape (3, 2)", "the order (dX, dW, db)")
    # the first example's shapes all differ: a transposed dW is called that, not a swapped dX
    assert_fail(run(check, lambda X, W, G: (G @ W.T, G.T @ X, G.sum(axis=0)), capsys=capsys), label,
                "dW has shape (2, 3) on the first example", "dW is transposed: it must have the shape of W, (3, 2)")
    assert_fail(run(check, lambda X, W, G: (G @ W.T, 2 * X.T @ G, G.sum(axis=0)), capsys=capsys), label,
                "wrong values of dW", "2 times the expected", "gradient check of dW")
    # the classic mistakes: averaging db or dW, and a missing transpose that only a square W reveals
    assert_fail(run(check, lambda X, W, G: (G @ W.T, X.T @ G, G.mean(axis=0)), capsys=capsys), label,
                "wrong values of db", "db is the mean over the samples; it must be the sum")
    assert_fail(run(check, lambda X, W, G: (G @ W.T, X.T @ G / len(X), G.sum(axis=0)), capsys=capsys), label,
                "dW is divided by the number of samples")
    square = lambda X, W, G: (G @ W if W.shape[0] == W.shape[1] else G @ W.T, X.T @ G, G.sum(axis=0))  # noqa: E731
    assert_fail(run(check, square, capsys=capsys), label, "on hidden test 2", "dX must use W transposed")
    assert_fail(run(check, lambda X, W, G: (G @ W.T, X.T @ G), capsys=capsys), label,
                "must return three arrays (dX, dW, db), got 2 values")


def test_bce_grad_wrong_answers(capsys):
    label, check = "ex-03-bce-grad", ex.check_bce_grad
    assert_fail(run(check, lambda y, p: np.zeros_like(p), capsys=capsys), label, "wrong values")
    assert_fail(run(check, lambda y, p: ((p - y) / (p * (1 - p)) / p.size).ravel(), capsys=capsys), label,
                "has shape (3,)", "expected (3, 1)")
    # the classic mistakes: the 1/N forgotten, the fused gradient, N taken as the number of rows
    assert_fail(run(check, lambda y, p: (p - y) / (p * (1 - p)), capsys=capsys), label,
                "the 1/N of the mean is missing (N = 3", "gradient check of dL/dy_hat")
    assert_fail(run(check, lambda y, p: (p - y) / p.size, capsys=capsys), label, "the fused form")
    assert_fail(run(check, lambda y, p: (p - y) / (p * (1 - p)) / len(p), capsys=capsys), label,
                "on hidden test 3", "not the number of rows")
    assert_fail(run(check, lambda y, p: (y - p) / (p * (1 - p)) / p.size, capsys=capsys), label,
                "every value has the wrong sign")


def _step(update, order="gradients first", returned="before"):
    """A train_step variant: ``update(param, grad, lr)`` applied to every parameter."""

    def train_step(model, X, y, loss, lr):
        if order == "update first":
            for p, g in zip(model.parameters(), model.gradients()):
                update(p, g, lr)
        value = model.compute_gradients(X, y, loss)
        if order == "gradients first":
            for p, g in zip(model.parameters(), model.gradients()):
                update(p, g, lr)
        return value if returned == "before" else loss(y, model.predict(X))

    return train_step


def _sub(p, g, lr):
    p -= lr * g


def test_train_step_wrong_answers(capsys):
    label, check = "ex-04-train-step", ex.check_train_step

    def rebinds(p, g, lr):
        p = p - lr * g  # noqa: F841 - the classic mistake: a new local array, the model is untouched

    def no_lr(p, g, lr):
        p -= g

    def double(p, g, lr):
        p -= 2 * lr * g

    assert_fail(run(check, lambda model, X, y, loss, lr: 0.5, capsys=capsys), label,
                "wrong parameters after the XOR network", "the parameters never change")
    assert_fail(run(check, lambda model, X, y, loss, lr: np.zeros(2), capsys=capsys), label,
                "must return the loss as a float, got a ndarray")
    assert_fail(run(check, _step(rebinds), capsys=capsys), label, "p = p - lr * g only makes a new array")
    assert_fail(run(check, _step(no_lr), capsys=capsys), label, "the step ignores the learning rate")
    assert_fail(run(check, _step(double), capsys=capsys), label, "layer0.W expected", "layer0.W got")
    assert_fail(run(check, _step(_sub, order="update first"), capsys=capsys), label,
                "updated before the gradients are computed")
    assert_fail(run(check, _step(_sub, returned="after"), capsys=capsys), label,
                "wrong loss returned", "the loss after the update")
    assert_fail(run(check, _step(lambda p, g, lr: None), capsys=capsys), label, "the parameters never change")


def test_train_step_refuses_an_optimizer_or_fit(capsys):
    # The exercise says: no optimizer object. Right numbers, but not the reader's update.
    def with_sgd(model, X, y, loss, lr):
        value = model.compute_gradients(X, y, loss)
        SGD(lr=lr).step(model.parameters(), model.gradients())
        return value

    def with_fit(model, X, y, loss, lr):
        return model.fit(X, y, loss=loss, optimizer=SGD(lr=lr), epochs=1).history["loss"][0]

    assert_fail(run(ex.check_train_step, with_sgd, capsys=capsys), "ex-04-train-step",
                "calls nnlib.optimizers.Optimizer.step")
    assert_fail(run(ex.check_train_step, with_fit, capsys=capsys), "ex-04-train-step", "calls nnlib.model.Model.fit")


def test_accuracy_wrong_answers(capsys):
    label, check = "ex-05-accuracy", ex.check_accuracy_from_probs
    assert_fail(run(check, lambda y, p: 0.5, capsys=capsys), label, "wrong accuracy on labels of shape (n, 1)")
    assert_fail(run(check, lambda y, p: (np.ravel(p) > 0.5) == np.ravel(y), capsys=capsys), label,
                "returned an array of shape (4,)", "expected one number")
    assert_fail(run(check, lambda y, p: 100 * np.mean((np.ravel(p) > 0.5) == np.ravel(y)), capsys=capsys), label,
                "not a percentage")
    # the classic mistake: (n,) labels against (n, 1) probabilities broadcast into an (n, n) table
    assert_fail(run(check, lambda y, p: np.mean((p > 0.5) == y), capsys=capsys), label,
                "on hidden test 1", "broadcasts into an (n, n) table")
    assert_fail(run(check, lambda y, p: np.mean((np.ravel(p) >= 0.5) == np.ravel(y)), capsys=capsys), label,
                "exactly 0.5 counts as class 0")
    assert_fail(run(check, lambda y, p: np.sum((np.ravel(p) > 0.5) == np.ravel(y)), capsys=capsys), label,
                "not their number")


# save/load variants --------------------------------------------------------------------------------
ACTIVATIONS = {"ReLU": ReLU, "Tanh": Tanh, "Sigmoid": Sigmoid}


def _save_named(model, path, *, dtype=np.float64, dense_only=False):
    layers = [layer for layer in model.layers if isinstance(layer, Dense) or not dense_only]
    arch = [f"Dense:{layer.in_features}:{layer.out_features}" if isinstance(layer, Dense) else type(layer).__name__
            for layer in layers]
    arrays = {f"layer{i}.{key}": value.astype(dtype) for i, layer in enumerate(layers)
              for key, value in layer.params.items()}
    np.savez(path, arch=np.array(json.dumps(arch)), **arrays)


def _build(entry):
    if entry.startswith("Dense"):
        _, n_in, n_out = entry.split(":")
        return Dense(int(n_in), int(n_out), init="zeros")
    return ACTIVATIONS[entry]()


def _load_named(path):
    with np.load(path, allow_pickle=False) as data:
        layers = [_build(entry) for entry in json.loads(str(data["arch"]))]
        for i, layer in enumerate(layers):
            for key in layer.params:
                layer.params[key][...] = data[f"layer{i}.{key}"]
    return Model(layers)


def _load_sorted(path):
    """The classic mistake: arrays taken two at a time in sorted(name) order ("layer10" < "layer2")."""
    with np.load(path, allow_pickle=False) as data:
        layers = [_build(entry) for entry in json.loads(str(data["arch"]))]
        values = [data[k] for k in sorted(data.files) if k != "arch"]
    dense = [layer for layer in layers if isinstance(layer, Dense)]
    for j, layer in enumerate(dense):
        layer.params["W"][...], layer.params["b"][...] = values[2 * j], values[2 * j + 1]
    return Model(layers)


def _save_source_a(model, path):
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    np.savez(path, *[layer.params["W"] for layer in dense], *[layer.params["b"] for layer in dense])


def _load_source_a(path):
    with np.load(path) as data:
        arrays = [data[k] for k in data.files]
    layers = []
    for W, b in zip(arrays[::2], arrays[1::2]):
        layer = Dense(*W.shape, init="zeros")
        layer.params["W"][...] = W
        layer.params["b"][...] = b
        layers.append(layer)
    return Model(layers)


def test_save_load_wrong_answers(capsys):
    label, check = "ex-06-save-load", ex.check_save_load
    def fixed(path):  # ignores the file: always the same freshly made model
        return Model([Dense(4, 8, rng=1), Tanh(), Dense(8, 8, rng=2), Tanh(), Dense(8, 1, rng=3), Sigmoid()])

    assert_fail(run(check, _save_named, fixed, capsys=capsys), label,
                "predicts differently from the saved one (the chapter's 4-8-8-1 model)",
                "layer0.b does not hold the values that were saved")
    assert_fail(run(check, _save_source_a, _load_source_a, capsys=capsys), label,
                "load_weights raised ValueError: could not broadcast")
    assert_fail(run(check, lambda m, p: _save_named(m, p, dtype=np.float32), _load_named, capsys=capsys), label,
                "float32")
    assert_fail(run(check, _save_named, _load_sorted, capsys=capsys), label,
                "(hidden test 3 (12 layers, all 5 wide))", "layer2.W holds the values saved from layer10.W")
    assert_fail(run(check, lambda m, p: _save_named(m, p, dense_only=True), _load_named, capsys=capsys), label,
                "layer 1 of the loaded model is Dense(8 -> 8), expected Tanh()", "activations included")
    assert_fail(run(check, lambda m, p: m.save(p), Model.load, capsys=capsys), label, "calls nnlib.model.Model.save")

    def pickled(m, p):
        with open(p, "wb") as fh:
            pickle.dump(m, fh)

    def unpickle(p):
        with open(p, "rb") as fh:
            return pickle.load(fh)

    assert_fail(run(check, pickled, unpickle, capsys=capsys), label, "the saved file is a pickle")
    assert_fail(run(check, lambda m, p: np.savez(p, model=np.array([m], dtype=object)), unpickle, capsys=capsys),
                label, "contains pickled Python objects")
    memory = {}

    def keep(m, p):
        memory[Path(p).name] = copy.deepcopy(m)
        np.savez(p, nothing=np.zeros(1))

    assert_fail(run(check, keep, lambda p: memory[Path(p).name], capsys=capsys), label,
                "holds 1 floating-point numbers, but the model has 121 parameters")
    assert_fail(run(check, lambda m, p: None, _load_named, capsys=capsys), label, "wrote no file at the path")
    assert_fail(run(check, lambda m, p: np.save(p, np.zeros(3)), _load_named, capsys=capsys), label,
                "wrote no file")  # np.save appends .npy to a name ending in .npz


def test_save_load_not_done_names_the_stub(capsys):
    def stub(*args):
        raise NotImplementedError("write your solution here")

    out = run(ex.check_save_load, _save_named, stub, capsys=capsys)
    assert out.startswith("ex-06-save-load: NOT DONE YET - load_weights raises NotImplementedError")


def test_save_load_output_never_shows_the_temporary_folder(capsys):
    def leaky(m, p):
        raise OSError(f"cannot write {p}")

    out = run(ex.check_save_load, leaky, _load_named, capsys=capsys)
    assert "save_weights raised OSError: cannot write <tmp>/model1.npz" in out
    assert "/tmp" not in out and "nnlib-exercise-" not in out


# chapters 7 and 8: momentum and Adam ---------------------------------------------------------------------
def test_momentum_step_wrong_answers(capsys):
    label, check = "ex-07-momentum-step", ex.check_momentum_step
    assert_fail(run(check, lambda p, g, v, lr, mu: (np.zeros_like(p), np.zeros_like(v)), capsys=capsys), label,
                "wrong values of the new v", "every value you returned is the same")
    assert_fail(run(check, lambda p, g, v, lr, mu: (p + mu * v - lr * g, mu * v - lr * g)[0], capsys=capsys), label,
                "must return 2 arrays (p, v), got a ndarray")
    assert_fail(run(check, lambda p, g, v, lr, mu: ((p + mu * v - lr * g).ravel()[:2], mu * v - lr * g),
                    capsys=capsys), label, "the new p has shape (2,)", "expected (3,)")
    assert_fail(run(check, lambda p, g, v, lr, mu: (2 * (p + mu * v - lr * g), mu * v - lr * g), capsys=capsys),
                label, "wrong values of the new p", "2 times the expected")
    # the classic mistakes: the velocity's sign, lr applied twice, the old velocity forgotten
    assert_fail(run(check, lambda p, g, v, lr, mu: (p - (mu * v + lr * g), mu * v + lr * g), capsys=capsys), label,
                "the velocity has the wrong sign")
    assert_fail(run(check, lambda p, g, v, lr, mu: (p + lr * (mu * v - lr * g), mu * v - lr * g), capsys=capsys),
                label, "the learning rate is applied twice")
    assert_fail(run(check, lambda p, g, v, lr, mu: (p - lr * g, -lr * g), capsys=capsys), label,
                "the old velocity v is ignored")
    assert_fail(run(check, lambda p, g, v, lr, mu: (p + v, mu * v - lr * g), capsys=capsys), label,
                "p moves by the old velocity")

    def in_place(p, g, v, lr, mu):
        v *= mu
        v -= lr * g
        return p + v, v

    assert_fail(run(check, in_place, capsys=capsys), label, "modified its input v in place")

    def forgets_after_first(p, g, v, lr, mu):  # right on every single step, but never carries v on
        v_new = mu * v - lr * g
        return p + v_new, np.zeros_like(v)

    assert_fail(run(check, forgets_after_first, capsys=capsys), label, "wrong values of the new v")


def _adam(p, g, m, v, t, lr, b1, b2, eps, *, c1=True, c2=True, shift=0):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    m_hat = m / (1 - b1 ** (t + shift)) if c1 else m
    v_hat = v / (1 - b2 ** (t + shift)) if c2 else v
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def test_adam_step_wrong_answers(capsys):
    label, check = "ex-08-adam-step", ex.check_adam_step
    out = run(check, lambda *a: (np.zeros(3), np.zeros(3), np.zeros(3)), capsys=capsys)
    assert_fail(out, label, "wrong values of the new m", "every value you returned is the same", "eps = 1e-08")
    assert_fail(run(check, lambda *a: _adam(*a)[:2], capsys=capsys), label, "must return 3 arrays (p, m, v), got 2")
    assert_fail(run(check, lambda p, *a: (np.append(_adam(p, *a)[0], 0.0),) + _adam(p, *a)[1:], capsys=capsys),
                label, "the new p has shape (4,)", "expected (3,)")
    assert_fail(run(check, lambda *a: (lambda r: (r[0], r[1], 2 * r[2]))(_adam(*a)), capsys=capsys), label,
                "wrong values of the new v", "2 times the expected")
    # the classic mistakes: no bias correction, only one of the two, t starting at 0
    assert_fail(run(check, lambda *a: _adam(*a, c1=False, c2=False), capsys=capsys), label, "no bias correction")
    assert_fail(run(check, lambda *a: _adam(*a, c2=False), capsys=capsys), label, "only m is bias-corrected")
    assert_fail(run(check, lambda *a: _adam(*a, shift=-1), capsys=capsys), label, "the corrections use t - 1")
    assert_fail(run(check, lambda *a: _adam(*a, shift=1), capsys=capsys), label, "the corrections use t + 1")

    def counter_from_zero(p, g, m, v, t, lr, b1, b2, eps):  # shown case fine... until t = 1 divides by zero
        return _adam(p, g, m, v, t, lr, b1, b2, eps, shift=-1) if t == 1 else _adam(p, g, m, v, t, lr, b1, b2, eps)

    assert_fail(run(check, counter_from_zero, capsys=capsys), label, "caused a warning: RuntimeWarning",
                "t counts the steps from 1")

    def corrected_m_returned(p, g, m, v, t, lr, b1, b2, eps):
        p_new, m_new, v_new = _adam(p, g, m, v, t, lr, b1, b2, eps)
        return p_new, m_new / (1 - b1**t), v_new

    assert_fail(run(check, corrected_m_returned, capsys=capsys), label, "not the bias-corrected m_hat")


# chapter 9: digits -----------------------------------------------------------------------------------
def _softmax_rows(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_stable_softmax_wrong_answers(capsys):
    label, check = "ex-09-softmax", ex.check_stable_softmax
    assert_fail(run(check, lambda Z: np.full_like(Z, 0.5), capsys=capsys), label,
                "wrong values of the probabilities on the chapter's logits", "every value you returned is the same")
    assert_fail(run(check, lambda Z: _softmax_rows(Z)[:, 0], capsys=capsys), label,
                "has shape (3,)", "not one number per row")
    assert_fail(run(check, lambda Z: 2 * _softmax_rows(Z), capsys=capsys), label, "2 times the expected")
    # the classic mistakes: no shift (overflow), the wrong axis, the whole array's maximum
    assert_fail(run(check, lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True), capsys=capsys), label,
                "Z = [[1000. 1001. 1002.]]", "caused a warning: RuntimeWarning: overflow encountered in exp",
                "np.exp overflows on large logits", "row by row")
    assert_fail(run(check, lambda Z: _softmax_rows(Z.T).T, capsys=capsys), label, "each column sums to 1")
    global_max = lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum(axis=1, keepdims=True)  # noqa: E731
    assert_fail(run(check, global_max, capsys=capsys), label, "a hidden test case with Z of shape (3, 2)",
                "invalid value encountered in divide", "underflow to 0 / 0")

    def no_keepdims(Z):  # a ValueError when n != k, wrong values on a square Z
        e = np.exp(Z - Z.max(axis=1)) if Z.shape[0] == Z.shape[1] else np.exp(Z - Z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    assert_fail(run(check, no_keepdims, capsys=capsys), label, "on the chapter's logits",
                "the row maxima lost their axis")

    def neither_keepdims(Z):
        e = np.exp(Z - Z.max(axis=1)) if Z.shape[0] == Z.shape[1] else np.exp(Z - Z.max(axis=1, keepdims=True))
        return e / (e.sum(axis=1) if Z.shape[0] == Z.shape[1] else e.sum(axis=1, keepdims=True))

    assert_fail(run(check, neither_keepdims, capsys=capsys), label, "the row maxima and the row sums both lost")
    # nnlib's log-softmax is the library's version too
    from nnlib.losses import SoftmaxCrossEntropy
    assert_fail(run(check, lambda Z: np.exp(SoftmaxCrossEntropy.log_softmax(Z)), capsys=capsys), label,
                "calls nnlib.losses.SoftmaxCrossEntropy.log_softmax")


def _ce(Z, y):
    log_p = Z - Z.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(y)), y]))


def test_cross_entropy_wrong_answers(capsys):
    label, check = "ex-09-cross-entropy", ex.check_cross_entropy_from_logits
    assert_fail(run(check, lambda Z, y: np.array([_ce(Z, y)]), capsys=capsys), label,
                "returned an array of shape (1,)", "expected a float", "float(...)")
    assert_fail(run(check, lambda Z, y: 2.3, capsys=capsys), label, "wrong loss on the chapter's three samples",
                "expected 0.9511, got 2.3000")
    assert_fail(run(check, lambda Z, y: np.full(len(y), _ce(Z, y)), capsys=capsys), label,
                "returned an array of shape (3,)", "one loss per sample")
    assert_fail(run(check, lambda Z, y: 3 * _ce(Z, y), capsys=capsys), label, "that is the sum over the samples")
    assert_fail(run(check, lambda Z, y: -_ce(Z, y), capsys=capsys), label, "the sign is wrong")
    # the classic mistakes: the mean over all n * k entries, the log of the softmax without the shift
    onehot_mean = lambda Z, y: -np.mean(np.eye(Z.shape[1])[y] * np.log(_softmax_rows(Z)))  # noqa: E731
    assert_fail(run(check, onehot_mean, capsys=capsys), label, "the mean over all n * k entries")
    log_of_softmax = lambda Z, y: -np.mean(np.log(_softmax_rows(Z)[np.arange(len(y)), y]))  # noqa: E731
    assert_fail(run(check, log_of_softmax, capsys=capsys), label, "Z = [[  0. 800.]]",
                "divide by zero encountered in log", "log-softmax")
    def naive(Z, y):
        p = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
        return -np.mean(np.log(p[np.arange(len(y)), y]))

    assert_fail(run(check, naive, capsys=capsys), label, "caused a warning: RuntimeWarning")
    assert_fail(run(check, lambda Z, y: -np.mean(np.log(_softmax_rows(Z))[:, y]), capsys=capsys), label,
                "p[:, y] picks whole columns")


def _confusion(y_true, y_pred, k):
    C = np.zeros((k, k), dtype=int)
    np.add.at(C, (y_true, y_pred), 1)
    return C


def test_confusion_matrix_wrong_answers(capsys):
    label, check = "ex-09-confusion-matrix", ex.check_confusion_matrix
    assert_fail(run(check, lambda a, b, k: _confusion(a, b, k).tolist(), capsys=capsys), label,
                "returned a list on the first example; expected a NumPy array")
    assert_fail(run(check, lambda a, b, k: np.ones((k, k)), capsys=capsys), label,
                "wrong values of the confusion matrix on the first example", "every value you returned is the same")
    assert_fail(run(check, lambda a, b, k: _confusion(a, b, k).ravel(), capsys=capsys), label,
                "has shape (9,)", "expected (3, 3)")
    assert_fail(run(check, lambda a, b, k: 2 * _confusion(a, b, k), capsys=capsys), label, "2 times the expected")
    # the classic mistakes: rows and columns swapped, fancy indexing, sized by the largest label
    assert_fail(run(check, lambda a, b, k: _confusion(a, b, k).T, capsys=capsys), label,
                "the matrix is transposed: rows are the true classes")

    def fancy(a, b, k):
        C = np.zeros((k, k), dtype=int)
        C[a, b] += 1
        return C

    assert_fail(run(check, fancy, capsys=capsys), label, "counts a repeated pair only once", "np.add.at")
    assert_fail(run(check, lambda a, b, k: _confusion(a, b, int(max(a.max(), b.max())) + 1), capsys=capsys), label,
                "on a class that never occurs", "size it with k")
    assert_fail(run(check, lambda a, b, k: _confusion(a, b, k) / _confusion(a, b, k).sum(axis=1, keepdims=True),
                    capsys=capsys), label, "the counts, not the fractions")


# chapters 10 and 11: weight decay, dropout, standardising, gradient norms ---------------------------------------
def _squares(weights):
    return sum(float(np.sum(W * W)) for W in weights)


def test_l2_penalty_wrong_answers(capsys):
    label, check = "ex-10-l2-penalty", ex.check_l2_penalty_and_grad
    assert_fail(run(check, lambda ws, lam: (0.0, [np.zeros_like(W) for W in ws]), capsys=capsys), label,
                "wrong penalty on the first example", "expected penalty = 0.7625", "got      penalty = 0")
    assert_fail(run(check, lambda ws, lam: 0.5 * lam * _squares(ws), capsys=capsys), label,
                "must return a pair (penalty, grads), got a float")
    assert_fail(run(check, lambda ws, lam: ([0.5 * lam * np.sum(W * W) for W in ws], [lam * W for W in ws]),
                    capsys=capsys), label, "the penalty has shape (2,) on the first example",
                "add up the squares of every matrix into one number")
    assert_fail(run(check, lambda ws, lam: (0.5 * lam * _squares(ws), np.concatenate([(lam * W).ravel() for W in ws])),
                    capsys=capsys), label, "grads must be a list of 2 arrays, one per matrix, got a ndarray")
    assert_fail(run(check, lambda ws, lam: (0.5 * lam * _squares(ws), [lam * ws[0]]), capsys=capsys), label,
                "grads must be a list of 2 arrays, one per matrix, got 1 arrays")
    # off by a factor 2 either way: the 1/2 forgotten in the penalty, or a 2 too many or too few in the gradient
    assert_fail(run(check, lambda ws, lam: (lam * _squares(ws), [lam * W for W in ws]), capsys=capsys), label,
                "wrong penalty on the first example", "got      penalty = 1.525",
                "twice the expected value: the penalty is (lam / 2) * sum of squares")
    assert_fail(run(check, lambda ws, lam: (0.5 * lam * _squares(ws), [2 * lam * W for W in ws]), capsys=capsys),
                label, "wrong values of grads[0] on the first example", "is lam * W, not 2 lam W")
    assert_fail(run(check, lambda ws, lam: (0.5 * lam * _squares(ws), [0.5 * lam * W for W in ws]), capsys=capsys),
                label, "wrong values of grads[0]", "the 2 of the square cancels the 1/2")
    # the classic mistakes: the norm instead of its square, the entries not squared, the mean instead of the
    # sum, the decayed weight W - lr * lam * W (with lr = 1) returned as the gradient
    assert_fail(run(check, lambda ws, lam: (0.5 * lam * sum(np.linalg.norm(W) for W in ws), [lam * W for W in ws]),
                    capsys=capsys), label, "that is the norm, not its square")
    assert_fail(run(check, lambda ws, lam: (0.5 * lam * sum(np.sum(W) for W in ws), [lam * W for W in ws]),
                    capsys=capsys), label, "the entries are summed without squaring them")
    assert_fail(run(check, lambda ws, lam: (0.5 * lam * sum(np.mean(W * W) for W in ws), [lam * W for W in ws]),
                    capsys=capsys), label, "wrong penalty on the first example", "got      penalty = 0.315625")
    assert_fail(run(check, lambda ws, lam: (0.5 * lam * _squares(ws), [W * (1 - lam) for W in ws]), capsys=capsys),
                label, "that is the decayed weight after a step, not the gradient lam * W")

    def in_place(ws, lam):
        penalty = 0.5 * lam * _squares(ws)
        for W in ws:
            W *= lam
        return penalty, ws

    assert_fail(run(check, in_place, capsys=capsys), label, "modified the weights it was given; return new arrays")


def _keep(x, rate, rng):
    return (rng.random(x.shape) < 1.0 - rate).astype(float)


def _dropout(output=lambda x, mask, rate: x * mask / (1.0 - rate), draw=_keep):
    """A dropout_forward variant: the mask from ``draw(x, rate, rng)``, the output ``output(x, mask, rate)``."""

    def dropout_forward(x, rate, rng):
        mask = draw(x, rate, rng)
        return output(x, mask, rate), mask

    return dropout_forward


def test_dropout_forward_wrong_answers(capsys):
    label, check = "ex-10-dropout-forward", ex.check_dropout_forward
    assert_fail(run(check, lambda x, rate, rng: x * _keep(x, rate, rng) / (1 - rate), capsys=capsys), label,
                "must return a pair (output, mask), got a ndarray")
    assert_fail(run(check, _dropout(draw=lambda x, rate, rng: (rng.random(x.shape[-1]) < 1 - rate).astype(float)),
                    capsys=capsys), label, "the mask has shape (3,), expected (4, 3), the shape of x")
    # the rescaling: forgotten (plain dropout), the evaluation-time factor 1 - rate used instead, rate for 1 - rate
    assert_fail(run(check, _dropout(lambda x, mask, rate: x * mask), capsys=capsys), label,
                "wrong values of the output", "must be divided by 1 - rate (inverted dropout)")
    assert_fail(run(check, _dropout(lambda x, mask, rate: x * mask * (1 - rate)), capsys=capsys), label,
                "divide by 1 - rate, do not multiply")
    assert_fail(run(check, _dropout(lambda x, mask, rate: x * mask / rate), capsys=capsys), label,
                "x of shape (7,), rate = 0.2", "every value is 4 times the expected one")
    assert_fail(run(check, _dropout(lambda x, mask, rate: x * mask,
                                    draw=lambda x, rate, rng: _keep(x, rate, rng) / (1 - rate)), capsys=capsys), label,
                "the mask must hold only 0 (dropped) and 1 (kept)", "not the mask already divided by (1 - rate)")
    # the mask: 1 where dropped, rate taken as the probability to keep, nothing ever dropped
    assert_fail(run(check, _dropout(lambda x, mask, rate: x * (1 - mask) / (1 - rate)), capsys=capsys), label,
                "the mask is 1 where an entry is KEPT")
    assert_fail(run(check, _dropout(draw=lambda x, rate, rng: (rng.random(x.shape) < rate).astype(float)),
                    capsys=capsys), label, "0.700 of the entries were dropped, expected about rate = 0.3")
    assert_fail(run(check, _dropout(draw=lambda x, rate, rng: np.ones_like(x)), capsys=capsys), label,
                "0.000 of the entries were dropped")
    # one draw per sample (whole rows kept or dropped) or per feature (whole columns), broadcast
    assert_fail(run(check, _dropout(draw=lambda x, rate, rng: (rng.random(x.shape[:1] + (1,) * (x.ndim - 1))
                                                               < 1 - rate) * np.ones_like(x)), capsys=capsys),
                label, "the mask keeps or drops each sample (row) as a whole", "one value per entry")
    assert_fail(run(check, _dropout(draw=lambda x, rate, rng: (rng.random(x.shape[-1]) < 1 - rate) * np.ones_like(x)),
                    capsys=capsys), label, "the mask keeps or drops each feature (column) as a whole")
    # the draws: NumPy's global generator, or a new generator with a fixed seed
    assert_fail(run(check, _dropout(draw=lambda x, rate, rng: (np.random.random(x.shape) < 1 - rate).astype(float)),
                    capsys=capsys), label, "two generators with the same seed gave different masks",
                "not from np.random")
    assert_fail(run(check, _dropout(draw=lambda x, rate, rng: _keep(x, rate, np.random.default_rng(0))),
                    capsys=capsys), label, "generators with different seeds gave the same mask")

    def in_place(x, rate, rng):
        mask = _keep(x, rate, rng)
        x *= mask / (1 - rate)
        return x, mask

    assert_fail(run(check, in_place, capsys=capsys), label, "modified its input x in place")


def _nonzero(std):
    return np.where(std > 0, std, 1.0)


def _standardize(mean=lambda X: X.mean(axis=0), std=lambda X: _nonzero(X.std(axis=0)), own_test_statistics=False):
    """A standardize variant: ``mean(X)`` and ``std(X)`` of the training set (or of each set) scale both sets."""

    def standardize(X_train, X_test):
        m, s = mean(X_train), std(X_train)
        m_test, s_test = (mean(X_test), std(X_test)) if own_test_statistics else (m, s)
        return (X_train - m) / s, (X_test - m_test) / s_test, m, s

    return standardize


def test_standardize_wrong_answers(capsys):
    label, check = "ex-11-standardize", ex.check_standardize
    assert_fail(run(check, lambda X_train, X_test: _standardize()(X_train, X_test)[:2], capsys=capsys), label,
                "returned a tuple of length 2 on a small example", "expected a tuple (X_train_s, X_test_s, mean, std)")
    # the classic mistake: the test set scaled with its own statistics (or both sets with the pooled ones)
    assert_fail(run(check, _standardize(own_test_statistics=True), capsys=capsys), label,
                "wrong values of X_test_s on a small example", "scaled with its own mean and standard deviation")

    def pooled(X_train, X_test):
        both = np.vstack([X_train, X_test])
        m, s = both.mean(axis=0), _nonzero(both.std(axis=0))
        return (X_train - m) / s, (X_test - m) / s, m, s

    assert_fail(run(check, pooled, capsys=capsys), label, "wrong values of X_train_s on a small example")
    # a constant feature: divided by its standard deviation 0 (even with the warning silenced), by 0 + eps,
    # or replaced by 1 for the scaling but returned as 0
    assert_fail(run(check, _standardize(std=lambda X: X.std(axis=0)), capsys=capsys), label,
                "caused a warning: RuntimeWarning: invalid value encountered in divide", "[2. 5.]",
                "has standard deviation 0: divide by 1 instead")

    def silenced(X_train, X_test):
        m, s = X_train.mean(axis=0), X_train.std(axis=0)
        with np.errstate(all="ignore"):
            return np.nan_to_num((X_train - m) / s), np.nan_to_num((X_test - m) / s), m, _nonzero(s)

    assert_fail(run(check, silenced, capsys=capsys), label, "caused a warning: RuntimeWarning")
    assert_fail(run(check, _standardize(std=lambda X: X.std(axis=0) + 1e-8), capsys=capsys), label,
                "wrong values of X_test_s on a constant feature", "1.0000e+08")

    def zero_std_returned(X_train, X_test):
        m, s = X_train.mean(axis=0), X_train.std(axis=0)
        return (X_train - m) / _nonzero(s), (X_test - m) / _nonzero(s), m, s

    assert_fail(run(check, zero_std_returned, capsys=capsys), label, "wrong values of std on a constant feature",
                "a standard deviation of 0 must be replaced by 1")
    # the statistics: ddof=1, one mean and standard deviation for the whole array
    assert_fail(run(check, _standardize(std=lambda X: _nonzero(X.std(axis=0, ddof=1))), capsys=capsys), label,
                "wrong values of X_train_s on a small example", "the standard deviation with ddof=1")
    assert_fail(run(check, _standardize(mean=lambda X: X.mean(), std=lambda X: X.std()), capsys=capsys), label,
                "wrong values of X_train_s on a small example")

    def in_place(X_train, X_test):
        m, s = X_train.mean(axis=0), _nonzero(X_train.std(axis=0))
        X_train -= m
        X_train /= s
        return X_train, (X_test - m) / s, m, s

    assert_fail(run(check, in_place, capsys=capsys), label, "modified its input X_train in place")

    def scaler(X_train, X_test):
        from sklearn.preprocessing import StandardScaler
        fitted = StandardScaler().fit(X_train)
        return fitted.transform(X_train), fitted.transform(X_test), fitted.mean_, fitted.scale_

    assert_fail(run(check, scaler, capsys=capsys), label, "calls sklearn.preprocessing.StandardScaler")


def _norms(value, *, fresh_gradients=True):
    """A layer_gradient_norms variant: ``value(layer)`` for every Dense layer, after computing the gradients."""

    def layer_gradient_norms(model, X, y, loss):
        if fresh_gradients:
            model.compute_gradients(X, y, loss)
        return [float(value(layer)) for layer in model.layers if isinstance(layer, Dense)]

    return layer_gradient_norms


def test_gradient_norms_wrong_answers(capsys):
    label, check = "ex-11-gradient-norms", ex.check_layer_gradient_norms
    frobenius = lambda layer: np.sqrt(np.sum(layer.grads["W"] ** 2))  # noqa: E731
    assert_fail(run(check, lambda model, X, y, loss: sum(_norms(frobenius)(model, X, y, loss)), capsys=capsys), label,
                "the gradient norms has shape () on a 2-4-1 sigmoid network", "one number per Dense layer: 2 of them")

    def every_layer(model, X, y, loss):
        model.compute_gradients(X, y, loss)
        return [float(frobenius(layer)) if isinstance(layer, Dense) else 0.0 for layer in model.layers]

    assert_fail(run(check, every_layer, capsys=capsys), label, "has shape (4,)", "activation layers have no weights")
    # the classic mistakes: squared norms, the biases included, the wrong array, the wrong summary
    assert_fail(run(check, _norms(lambda layer: np.sum(layer.grads["W"] ** 2)), capsys=capsys), label,
                "wrong values of the gradient norms", "those are the squared norms")
    assert_fail(run(check, _norms(lambda layer: np.sqrt(np.sum(layer.grads["W"] ** 2) + np.sum(layer.grads["b"] ** 2))),
                    capsys=capsys), label, "the biases are included: the norm of dW alone")
    assert_fail(run(check, _norms(lambda layer: np.linalg.norm(layer.grads["b"])), capsys=capsys), label,
                "norms of the bias gradients")
    assert_fail(run(check, _norms(lambda layer: np.linalg.norm(layer.params["W"])), capsys=capsys), label,
                "the norms of the weights themselves")
    assert_fail(run(check, _norms(lambda layer: np.mean(np.abs(layer.grads["W"]))), capsys=capsys), label,
                "that is the mean absolute gradient")
    # the order (output layer first, as backpropagation visits them), and gradients never computed
    assert_fail(run(check, lambda model, X, y, loss: _norms(frobenius)(model, X, y, loss)[::-1], capsys=capsys),
                label, "wrong values of the gradient norms", "expected = [0.0561 0.2858]", "got      = [0.2858 0.0561]")
    assert_fail(run(check, _norms(frobenius, fresh_gradients=False), capsys=capsys), label,
                "every value you returned is the same")

    def after_a_step(model, X, y, loss):   # fit moves the weights: the norms of another model
        model.fit(X, y, loss=loss, optimizer=SGD(lr=0.1), epochs=1, batch_size=len(X))
        return _norms(frobenius)(model, X, y, loss)

    assert_fail(run(check, after_a_step, capsys=capsys), label, "wrong values of the gradient norms",
                "expected = [0.0561 0.2858]")


# -- experiment exercises: the target is measured on the checker's own data ------------------------------------
def _neuron_trained_by(lr, epochs):
    def fit_neuron(X, y):
        neuron = Model([Dense(2, 1, rng=0), Sigmoid()])
        neuron.fit(X, y, loss="binary_crossentropy", optimizer=SGD(lr=lr), epochs=epochs)
        return neuron
    return fit_neuron


def test_fit_neuron_measures_the_target(capsys):
    label, check = "ex-01-two-clouds", ex.check_fit_neuron
    out = run(check, _neuron_trained_by(0.5, 300), capsys=capsys)
    assert re.fullmatch(rf"{label}: PASS \(2 checks: accuracy 0\.9\d\d and 0\.9\d\d on 2000 fresh points .*\)\n", out)

    def halfway(X, y):
        m0, m1 = X[y == 0].mean(axis=0), X[y == 1].mean(axis=0)
        neuron = Model([Dense(2, 1, rng=0), Sigmoid()])
        neuron.layers[0].params["W"][:, 0] = m1 - m0
        neuron.layers[0].params["b"][:] = -(m1 - m0) @ (m0 + m1) / 2
        return neuron

    assert_fail(run(check, halfway, capsys=capsys), label, "below the target 0.95", "the clouds' shape")
    assert_fail(run(check, lambda X, y: Model([Dense(2, 1, rng=0), Sigmoid()]), capsys=capsys), label,
                "was the model trained?")
    assert_fail(run(check, lambda X, y: Model([Dense(2, 4, rng=0), Tanh(), Dense(4, 1, rng=1), Sigmoid()]),
                    capsys=capsys), label, "asks for one neuron")

    class Oracle:   # not an nnlib model: its predictions are never asked for
        layers = []

        def predict(self, X):
            return np.ones((len(X), 1))

    assert_fail(run(check, lambda X, y: Oracle(), capsys=capsys), label, "must be an nnlib Model, got Oracle")


def _stack(init, depth=10, width=64):
    def deep_stack(rng):
        layers, n_in = [], 100
        for _ in range(depth - 1):
            layers += [Dense(n_in, width, init=init, rng=rng), ReLU()]
            n_in = width
        return Model(layers + [Dense(n_in, 1, rng=rng)])
    return deep_stack


def test_deep_stack_measures_the_spread(capsys):
    label, check = "ex-02-deep-stack", ex.check_deep_stack
    out = run(check, _stack("he"), capsys=capsys)
    assert out.startswith(f"{label}: PASS (3 checks: spread of the last hidden layer "), out
    assert_fail(run(check, _stack("xavier"), capsys=capsys), label, "target between 0.1 and 10", "fades")
    assert_fail(run(check, _stack("normal"), capsys=capsys), label, "explodes")
    assert_fail(run(check, _stack("he", depth=5), capsys=capsys), label, "5 Dense layers", "at least 10")
    assert_fail(run(check, _stack("he", width=16), capsys=capsys), label, "16 units")

    def biases_only(rng):   # a spread made of biases is no signal
        model = _stack("he")(rng)
        for layer in model.layers:
            if isinstance(layer, Dense):
                layer.params["W"][...] = 0.0
                layer.params["b"][...] = rng.normal(size=layer.params["b"].shape)
        return model

    assert_fail(run(check, biases_only, capsys=capsys), label, "is 0 on hidden inputs")
    tanh = lambda rng: Model([Dense(100, 64, rng=rng), Tanh(), Dense(64, 1, rng=rng)])  # noqa: E731
    assert_fail(run(check, tanh, capsys=capsys), label, "alternates Dense and ReLU")
    assert_fail(run(check, lambda rng: "he", capsys=capsys), label, "must be an nnlib Model, got str")


def test_best_step_measures_the_error(capsys):
    label, check = "ex-03-step-size", ex.check_best_step
    assert run(check, lambda: 1e-5, capsys=capsys) == (
        f"{label}: PASS (6 checks: with h = 1e-05 the largest relative error on 6 hidden models is below 1e-08)\n")
    assert_fail(run(check, lambda: 1e-2, capsys=capsys), label, "relative error of 6", "truncation error")
    assert_fail(run(check, lambda: 1e-12, capsys=capsys), label, "target below 1e-08", "rounding error")
    assert_fail(run(check, lambda: 0.0, capsys=capsys), label, "between 0 and 1")
    assert_fail(run(check, lambda: float("nan"), capsys=capsys), label, "between 0 and 1")
    assert_fail(run(check, lambda: "1e-5", capsys=capsys), label, "must return a number, got a str")
    assert_fail(run(check, lambda: True, capsys=capsys), label, "got a bool")


XOR_GOOD = {"hidden": [4], "activation": "tanh", "init": None, "output": "sigmoid", "loss": "binary_crossentropy",
            "lr": 1.0}


def test_xor_settings_are_trained_by_the_checker(capsys):
    label, check = "ex-04-xor-seeds", ex.check_xor_settings
    assert run(check, lambda: dict(XOR_GOOD), capsys=capsys) == (
        f"{label}: PASS (20 checks: XOR solved from 20 of 20 hidden seeds (target 18), 17 parameters (limit 30))\n")
    source_c = {"hidden": [3], "activation": "relu", "init": "small", "output": "linear", "loss": "mse", "lr": 0.02}
    assert_fail(run(check, lambda: source_c, capsys=capsys), label, "training failed from 3 of the first",
                "Dense(2 -> 3), ReLU(), Dense(3 -> 1), loss mse")
    for change, fragment in (({"hidden": [10]}, "41 parameters; the limit is 30"), ({"hidden": 4}, "a list of 1 to 4"),
                             ({"hidden": [True]}, "a list of 1 to 4"), ({"lr": -1.0}, "above 0"),
                             ({"lr": float("nan")}, "above 0"), ({"lr": "1"}, "above 0"),
                             ({"activation": "softmax"}, "choose one of"), ({"init": "ones"}, "choose one of"),
                             ({"output": "linear"}, "cross-entropy needs probabilities"),
                             ({"extra": 1}, "unknown keys extra")):
        assert_fail(run(check, lambda change=change: {**XOR_GOOD, **change}, capsys=capsys), label, fragment)
    assert_fail(run(check, lambda: {"lr": 1.0}, capsys=capsys), label, "lack hidden")
    assert_fail(run(check, lambda: [4], capsys=capsys), label, "must return a dict, got a list")
    # a learning rate that diverges counts as failed runs, not as an error
    assert_fail(run(check, lambda: {**XOR_GOOD, "loss": "mse", "lr": 100.0}, capsys=capsys), label,
                "training failed")


def test_train_moons_measures_the_target(capsys):
    label, check = "ex-05-moons-target", ex.check_train_moons

    def trained(hidden, epochs=100):
        def train_moons(X, y):
            layers, n_in = [], 2
            for i, width in enumerate(hidden):
                layers += [Dense(n_in, width, rng=i), Tanh()]
                n_in = width
            model = Model(layers + [Dense(n_in, 1, rng=9), Sigmoid()])
            model.fit(X, y, loss="binary_crossentropy", optimizer=nnlib.Adam(lr=0.01), epochs=epochs, batch_size=32,
                      rng=0)
            return model
        return train_moons

    out = run(check, trained([12, 12]), capsys=capsys)
    assert re.fullmatch(rf"{label}: PASS \(2 checks: accuracy 0\.9\d\d on 2000 fresh points \(target 0\.95\), "
                        r"205 parameters \(limit 300\)\)\n", out), out
    assert_fail(run(check, trained([]), capsys=capsys), label, "below the target 0.95", "a straight boundary")
    assert_fail(run(check, trained([16, 16]), capsys=capsys), label, "337 parameters; the limit is 300")
    assert_fail(run(check, lambda X, y: Model([Dense(3, 1, rng=0)]), capsys=capsys), label, "maps 3 inputs")

    def diverged(X, y):
        model = trained([4])(X, y)
        model.layers[0].params["W"][0, 0] = np.inf
        return model

    assert_fail(run(check, diverged, capsys=capsys), label, "NaN or infinity")


# -- output rules -----------------------------------------------------------------------------------------
def test_exceptions_from_the_answer_become_fail(capsys):
    def raises(X, w, b):
        raise KeyError("oops")

    def exits(X, w, b):
        sys.exit(3)

    assert_fail(run(ex.check_neuron_forward, raises, capsys=capsys), "ex-01-neuron-forward",
                "neuron_forward raised KeyError: 'oops'", "X = [[ 0.5 -1.   2. ]")
    assert_fail(run(ex.check_neuron_forward, exits, capsys=capsys), "ex-01-neuron-forward", "raised SystemExit: 3")
    assert_fail(run(ex.check_tanh_derivative, lambda z: z[99], capsys=capsys), "ex-01-tanh-derivative",
                "tanh_derivative raised IndexError: index 99 is out of bounds")

    def bare(z):
        raise ValueError

    assert run(ex.check_tanh_derivative, bare, capsys=capsys).splitlines()[0] == \
        "ex-01-tanh-derivative: FAIL - tanh_derivative raised ValueError"
    assert_fail(run(ex.check_neuron_forward, lambda X, w, b: None, capsys=capsys), "ex-01-neuron-forward",
                "returned None", "return statement")
    assert_fail(run(ex.check_neuron_forward, lambda X, w, b: "0.5", capsys=capsys), "ex-01-neuron-forward",
                "dtype <U3")


def test_keyboard_interrupt_goes_through():
    def interrupted(X, w, b):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ex.check_neuron_forward(interrupted)


def test_no_warning_leaks_and_output_is_deterministic(capsys):
    overflow = lambda X, w, b: 1 / (1 + np.exp(-(X @ w + b)))  # noqa: E731
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = run(ex.check_neuron_forward, overflow, capsys=capsys)
        second = run(ex.check_neuron_forward, overflow, capsys=capsys)
        run(ex.check_bce_grad, lambda y, p: (p - y) / (p * (1 - p)) / 0.0, capsys=capsys)
    assert caught == []
    assert first == second
    with np.errstate(all="raise"):  # the reader's global settings do not change the verdict
        assert run(ex.check_neuron_forward, overflow, capsys=capsys) == first


def test_only_the_verdict_line_on_pass_and_not_done(capsys):
    out = run_notebook_check("ex-03-dense-backward", capsys)
    assert out.count("\n") == 1


def test_module_does_not_import_matplotlib():
    code = "import sys, coursework; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_nnlib_does_not_import_coursework():
    code = "import sys, nnlib; print(sorted(m for m in sys.modules if m.split('.')[0] == 'coursework'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- "write it yourself" and "no overflow" mean it ------------------------------------------------------------
def test_an_answer_that_calls_the_library_fails(capsys):
    from nnlib import SoftmaxCrossEntropy, softmax
    from nnlib.activations import Sigmoid as SigmoidLayer
    label = "ex-01-neuron-forward"
    assert_fail(run(ex.check_neuron_forward, lambda X, w, b: sigmoid(X @ w + b), capsys=capsys), label,
                "neuron_forward calls nnlib.sigmoid", "write that yourself")
    assert_fail(run(ex.check_neuron_forward, lambda X, w, b: SigmoidLayer().forward((X @ w + b)[:, None])[:, 0],
                    capsys=capsys), label, "calls nnlib.")
    # caught and hidden by the answer: still a FAIL
    def sly(X, w, b):
        try:
            return sigmoid(X @ w + b)
        except Exception:
            z = X @ w + b
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    assert_fail(run(ex.check_neuron_forward, sly, capsys=capsys), label, "calls nnlib.sigmoid")
    assert_fail(run(ex.check_stable_softmax, softmax, capsys=capsys), "ex-09-softmax", "calls nnlib.softmax")
    assert_fail(run(ex.check_confusion_matrix, nnlib.confusion_matrix, capsys=capsys), "ex-09-confusion-matrix",
                "calls nnlib.metrics.confusion_matrix")
    loss = SoftmaxCrossEntropy()
    assert_fail(run(ex.check_cross_entropy_from_logits, lambda Z, y: loss(y, Z), capsys=capsys),
                "ex-09-cross-entropy", "calls nnlib.losses.SoftmaxCrossEntropy")
    # the checker's own code is not an answer either
    assert_fail(run(ex.check_confusion_matrix, lambda t, p, k: _checking._layers_text(Model([])), capsys=capsys),
                "ex-09-confusion-matrix", "calls coursework._checking._layers_text")
    # after the call, the library is back to normal
    assert float(sigmoid(np.array(0.0))) == 0.5


def test_sklearn_versions_fail_too(capsys):
    from sklearn.metrics import accuracy_score, confusion_matrix
    assert_fail(run(ex.check_confusion_matrix, lambda t, p, k: confusion_matrix(t, p, labels=range(k)),
                    capsys=capsys), "ex-09-confusion-matrix", "calls sklearn.metrics.confusion_matrix")
    assert_fail(run(ex.check_accuracy_from_probs, lambda y, p: accuracy_score(np.ravel(y), np.ravel(p) > 0.5),
                    capsys=capsys), "ex-05-accuracy", "calls sklearn.metrics.accuracy_score")


@pytest.mark.parametrize("silence", [
    "with np.errstate(all='ignore'):\n        return 1 / (1 + np.exp(-(X @ w + b)))",
    "np.seterr(all='ignore')\n    return 1 / (1 + np.exp(-(X @ w + b)))",
    "warnings.simplefilter('ignore')\n    return 1 / (1 + np.exp(-(X @ w + b)))",
    "with warnings.catch_warnings():\n        warnings.simplefilter('ignore')\n"
    "        return 1 / (1 + np.exp(-(X @ w + b)))",
    "np.seterrcall(None)\n    return 1 / (1 + np.exp(-(X @ w + b)))",
])
def test_a_silenced_overflow_still_fails(silence, capsys):
    ns: dict = {}
    exec(f"import warnings\nimport numpy as np\ndef neuron_forward(X, w, b):\n    {silence}\n", ns)
    before = np.geterr()
    assert_fail(run(ex.check_neuron_forward, ns["neuron_forward"], capsys=capsys), "ex-01-neuron-forward",
                "overflow encountered in exp")
    assert np.geterr() == before


def test_he_init_from_the_wrong_distribution_fails(capsys):
    def student_t(fan_in, fan_out, rng):   # mean 0 and variance 2 / fan_in, heavier tails
        return rng.standard_t(5, size=(fan_in, fan_out)) * np.sqrt(2.0 / fan_in) / np.sqrt(5 / 3)

    def laplace(fan_in, fan_out, rng):
        return rng.laplace(scale=np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))

    for wrong in (student_t, laplace):
        assert_fail(run(ex.check_he_init, wrong, capsys=capsys), "ex-02-he-init", "not normally distributed")


def test_hidden_cases_change_with_the_salt_and_shown_ones_do_not():
    assert np.array_equal(_checking._gen(101).normal(size=3), np.random.default_rng(101).normal(size=3))
    with _checking.hidden_cases_salt(12345):
        salted = _checking._gen(101).normal(size=3)
    with _checking.hidden_cases_salt(12346):
        other = _checking._gen(101).normal(size=3)
    assert not np.array_equal(salted, other)
    assert not np.array_equal(salted, np.random.default_rng(101).normal(size=3))


# -- the notebooks and EXERCISES agree ------------------------------------------------------------------------
def _called_checker(check_cell) -> str:
    call = ast.parse(check_cell.source).body[0].value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    return call.func.id


def test_every_check_cell_names_its_checker_and_every_checker_is_used():
    used = {label: _called_checker(e["check"]) for label, e in CODING.items()}
    registered = {label: entry.check.__name__ for label, entry in ex.EXERCISES.items()}
    assert used == registered  # same labels, same checkers
    assert list(used) == list(ex.EXERCISES)  # and EXERCISES is in book order
    for label, name in used.items():
        assert getattr(ex, name).exercise is ex.EXERCISES[label] and name in ex.__all__
        # the registry's answer names are the functions the solution cells define
        defined = [f.name for c in CODING[label]["solutions"] if c.cell_type == "code"
                   for f in ast.parse(c.source).body if isinstance(f, ast.FunctionDef)]
        assert list(ex.EXERCISES[label].answers) == defined, label


def test_exercise_structure_in_the_notebooks():
    labels = [e["label"] for e in EXERCISE_CELLS]
    assert len(labels) == len(set(labels))
    for path in CHAPTERS:
        chapter = int(path.name[:2])
        mine = [e for e in EXERCISE_CELLS if e["path"] == path]
        assert len(mine) >= 3, path.name
        assert all(e["chapter"] == chapter for e in mine)
        nb = nbformat.read(path, as_version=4)
        heads = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
        assert heads[-2:] == ["## Exercises", "## Summary"], path.name
    for e in EXERCISE_CELLS:
        body = e["statement"].source.split("\n\n", 1)[1]
        assert re.match(r"\*\*[^*]+[.?]\*\* ", body), e["label"]  # the title is the bold first sentence
        assert e["solutions"] and all("solution" in c.metadata.get("tags", []) for c in e["solutions"])
        for cell in e["solutions"]:
            if cell.cell_type == "code":
                assert e["check"] is not None, e["label"]
                assert cell.outputs == []
                _assert_stub_matches(cell.source, cell.metadata["nnlib"]["stub"])


def _assert_stub_matches(solution: str, stub: str) -> None:
    solved, stubbed = ast.parse(solution).body, ast.parse(stub).body
    assert [f.name for f in solved] == [f.name for f in stubbed]
    for f, s in zip(solved, stubbed):
        assert ast.dump(f.args) == ast.dump(s.args)
        assert ast.get_docstring(f) == ast.get_docstring(s)
        assert len(s.body) == 2 and ast.unparse(s.body[1]) == ast.unparse(ast.parse(STUB_LINE))


# Library code a chapter may show although an exercise forbids calling it, and why.
SHOWN_ON_PURPOSE = {
    # the chapter derives this rearranged form; exercise 8.1 asks for the textbook formulas,
    # and an answer copied from it fails with its own diagnosis
    "nnlib.optimizers.Adam._step",
    # the section on atomic saving is about this code (temporary file, fsync, rename); the
    # loading half of exercise 6.1 is not shown anywhere
    "nnlib.persistence.save_layers",
}


def test_the_chapters_do_not_show_the_code_an_exercise_asks_for():
    """Outside a solution, no show_source cell shows a library function that is an exercise's answer."""
    forbidden = {name for e in ex.EXERCISES.values() for name in e.forbidden if name.startswith("nnlib.")}
    ns: dict = {}
    exec("import nnlib\nfrom nnlib import *\nfrom nnlib import persistence", ns)
    shown_in_solutions = set()
    for path in CHAPTERS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "show_source":
                    obj = eval(ast.unparse(node.args[0]), ns)
                    qualified = f"{obj.__module__}.{obj.__qualname__}"
                    answers = {f for f in forbidden if f == qualified or f.startswith(qualified + ".")}
                    if "solution" in cell.metadata.get("tags", []):
                        assert cell.metadata["nnlib"].get("extra"), (path.name, cell.source)
                        shown_in_solutions |= answers
                    else:
                        assert answers <= SHOWN_ON_PURPOSE, (path.name, cell.source, answers)
    # and the solutions do show them, once the exercise is done
    assert {"nnlib.activations.sigmoid", "nnlib.layers.Dense._forward", "nnlib.activations.Sigmoid._backward",
            "nnlib.layers.Dense._backward", "nnlib.optimizers.SGD._step", "nnlib.activations.softmax",
            "nnlib.metrics.confusion_matrix"} <= shown_in_solutions


def test_committed_check_cells_print_pass():
    for label, e in CODING.items():
        text = "".join(o.get("text", "") for o in e["check"].outputs if o.get("output_type") == "stream")
        assert re.fullmatch(rf"{label}: {PASS_TEXT}\n", text), (label, text)


def test_hint_values_too_small_for_four_decimals_show_in_full():
    # Inputs are printed to four decimals; a nonzero value that would print as 0.0 (Adam's
    # eps) shows with its exponent, and values that do print keep their four decimals.
    assert _checking._field("eps", 1e-8) == ["eps = 1e-08"]
    assert _checking._field("eps", 1e-4) == ["eps = 0.0001"]
    assert _checking._field("lr", 0.0) == ["lr = 0.0"]
    assert _checking._describe({"eps": 1e-8, "t": 3}, shown=False) == ["input: a hidden test case with eps = 1e-08, t = 3"]


def _in_a_cell(source: str, cell: str = "/tmp/ipykernel_7/4242.py") -> dict:
    """Run ``source`` as IPython runs a cell (its file name, its lines in linecache)."""
    import linecache
    linecache.cache[cell] = (len(source), None, source.splitlines(True), cell)
    namespace: dict = {"np": np}
    exec(compile(source, cell, "exec"), namespace)
    return namespace


def test_an_exception_shows_the_line_of_the_answer_and_what_a_known_error_means(capsys):
    cell = _in_a_cell("import math\n\ndef tanh_derivative(z):\n    t = math.tanh(z)\n    return 1 - t * t\n")
    out = run(ex.check_tanh_derivative, cell["tanh_derivative"], capsys=capsys)
    assert_fail(out, "ex-01-tanh-derivative", "tanh_derivative raised TypeError",
                "the error came from line 4 of the cell that defines tanh_derivative: t = math.tanh(z)",
                "takes one number, not an array: use NumPy's")
    # An error in a helper of the cell names the helper's line.
    cell = _in_a_cell("def helper(z):\n    return z / 0.0 + {}[1]\n\ndef tanh_derivative(z):\n    return helper(z)\n")
    out = run(ex.check_tanh_derivative, cell["tanh_derivative"], capsys=capsys)
    assert_fail(out, "ex-01-tanh-derivative", "raised KeyError",
                "the error came from line 2 of the cell that defines helper: return z / 0.0 + {}[1]")


def test_values_equal_to_four_decimals_show_where_they_differ(capsys):
    def almost(X, w, b):
        z = X @ w + b
        return np.exp(-np.logaddexp(0.0, -z)) + 1e-7
    out = run(ex.check_neuron_forward, almost, capsys=capsys)
    assert_fail(out, "ex-01-neuron-forward", "wrong values", "they differ beyond the four decimals shown: at index")


def test_copying_the_librarys_rearranged_adam_is_named(capsys):
    def rearranged(p, g, m, v, t, lr, b1, b2, eps):
        p_new, m_new, v_new = _adam(p, g, m, v, t, lr, b1, b2, eps)
        return p_new, m_new / (1 - b1), v_new / (1 - b2)
    out = run(ex.check_adam_step, rearranged, capsys=capsys)
    assert_fail(out, "ex-08-adam-step", "wrong values of the new m")
    assert "the form nnlib's Adam keeps" in out or "not the bias-corrected m_hat" in out


# -- the experiment exercises: the checker measures, the answer only proposes ---------------------------
def test_momentum_experiment_validates_and_measures(capsys):
    label = "ex-07-experiment"
    for answer, fragment in [
        (lambda: (0.1, 0.9), "must return 3 numbers"),
        (lambda: ("0.1", 0.9, 32), "lr must be a number"),
        (lambda: (0.1, 1.0, 32), "momentum must lie in [0, 1)"),
        (lambda: (0.1, 0.9, 32.5), "batch_size must be an integer"),
        (lambda: (0.1, 0.9, 4), "batch_size must lie in [8, 800]"),
        (lambda: (float("nan"), 0.9, 32), "lr must lie in (0, 10]"),
        (lambda: (True, 0.9, 32), "lr must be a number"),
    ]:
        assert_fail(run(ex.check_momentum_settings, answer, capsys=capsys), label, fragment)
    # source B's own settings: 10 updates in 10 epochs
    assert_fail(run(ex.check_momentum_settings, lambda: (0.01, 0.0, 800), capsys=capsys), label,
                "mean test accuracy", "(target 0.94)", "10 updates")
    assert_fail(run(ex.check_momentum_settings, lambda: (10.0, 0.99, 8), capsys=capsys), label, "diverged")


def test_adam_experiment_fails_the_defaults_and_the_chaotic_edge(capsys):
    label = "ex-08-experiment"
    assert_fail(run(ex.check_adam_settings, lambda: (0.001, 0.9, 0.999), capsys=capsys), label,
                "on 0 of 5 fresh data sets (target 4 of 5)")
    assert_fail(run(ex.check_adam_settings, lambda: (1.0, 0.9, 0.999), capsys=capsys), label, "(target 4 of 5)")
    assert_fail(run(ex.check_adam_settings, lambda: (0.02, 0.9, 1.0), capsys=capsys), label,
                "beta2 must lie in [0, 1)")


def _digits_model(width, epochs=60):
    def train_digits(X, y):
        layers = [Dense(64, 10, rng=1)] if width == 0 else [Dense(64, width, init="he", rng=0), ReLU(),
                                                             Dense(width, 10, rng=1)]
        model = Model(layers)
        model.fit(X, y, loss="softmax_crossentropy", optimizer=nnlib.Adam(lr=0.01), epochs=epochs,
                  batch_size=32, rng=0)
        return model
    return train_digits


def test_small_digits_experiment(capsys):
    label = "ex-09-experiment"
    assert run(ex.check_small_digits, _digits_model(0), capsys=capsys).startswith(f"{label}: PASS (2 checks: accuracy")
    assert_fail(run(ex.check_small_digits, _digits_model(128, epochs=1), capsys=capsys), label,
                "9,610 trainable parameters (limit 1,000)")
    assert_fail(run(ex.check_small_digits, _digits_model(4), capsys=capsys), label, "(target 0.95)")

    class Lookup:   # remembers nothing useful, and is no nnlib model
        def predict(self, X):
            return np.zeros((len(X), 10))

    assert_fail(run(ex.check_small_digits, lambda X, y: Lookup(), capsys=capsys), label,
                "must be an nnlib Model, got Lookup")
    assert_fail(run(ex.check_small_digits, lambda X, y: Model([Dense(64, 3, rng=0)]), capsys=capsys), label,
                "maps 64 inputs to 3 outputs")


def test_save_small_experiment(capsys, tmp_path):
    label = "ex-06-experiment"
    assert_fail(run(ex.check_save_small, lambda model, path: model.astype(np.float32).save(path), capsys=capsys),
                label, "the file is 54% of the size of model.save's (limit 50%)")

    def float16(model, path):
        model.save(path)
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: (v.astype(np.float16) if v.dtype.kind == "f" else v) for k, v in data.items()}
        np.savez_compressed(path, **arrays)

    assert_fail(run(ex.check_save_small, float16, capsys=capsys), label, "nnlib.load_model cannot read the file")

    def crushed(model, path):   # one significant bit: a small file, a different model
        for p in model.parameters():
            p[...] = np.sign(p)
        float16_free = model.astype(np.float32)
        float16_free.save(path)
        with np.load(path, allow_pickle=False) as data:
            arrays = dict(data.items())
        np.savez_compressed(path, **arrays)

    assert_fail(run(ex.check_save_small, crushed, capsys=capsys), label, "the loaded model's accuracy is")

    def other_model(model, path):
        Model([Dense(4, 1, rng=0), Sigmoid()]).save(path)

    assert_fail(run(ex.check_save_small, other_model, capsys=capsys), label, "other layers")
    out = run(ex.check_save_small, lambda model, path: None, capsys=capsys)
    assert_fail(out, label, "wrote no file")
    assert "nnlib-exercise-" not in out


def _moons_model(hidden, epochs=0, output=Sigmoid):
    """A train_small_model variant: a ReLU network ending with ``output``, trained with Adam for ``epochs`` epochs."""

    def train_small_model(X_train, y_train, X_val, y_val):
        layers, n_in = [], 2
        for i, width in enumerate(hidden):
            layers += [Dense(n_in, width, init="he", rng=i), ReLU()]
            n_in = width
        model = Model(layers + [Dense(n_in, 1, rng=9)] + ([output()] if output else []))
        if epochs:
            model.fit(X_train, y_train, loss="binary_crossentropy", optimizer=nnlib.Adam(lr=0.01), epochs=epochs, rng=0)
        return model

    return train_small_model


def test_small_model_measures_the_target(capsys):
    label, check = "ex-10-small-model", ex.check_small_model
    # too many parameters (the limit is checked before any prediction, so these need no real training):
    # the chapter's plain network, and 2-37-37-1, whose 1,480 weights fit but whose 75 biases count too
    assert_fail(run(check, _moons_model([100, 100], epochs=1), capsys=capsys), label,
                "the model has 10501 parameters, more than the 1500 allowed", "fewer or narrower layers")
    assert_fail(run(check, _moons_model([37, 37]), capsys=capsys), label, "the model has 1555 parameters")
    # below the target: a single neuron (a straight boundary), and 2-32-32-1 trained without regularisation
    assert_fail(run(check, _moons_model([], epochs=300), capsys=capsys), label,
                "correctly, below the target of 86%", "it has 3 parameters")
    assert_fail(run(check, _moons_model([32, 32], epochs=300), capsys=capsys), label,
                "of 10000 fresh points correctly, below the target of 86%", "it has 1185 parameters",
                "choose its size and regularisation on the validation data")
    # not one probability per point
    assert_fail(run(check, _moons_model([16], output=None), capsys=capsys), label,
                "must end with Dense(..., 1) and Sigmoid()", "its layers: Dense, ReLU, Dense")
    assert_fail(run(check, lambda *data: Model([Dense(2, 16, rng=0), ReLU(), Dense(16, 2, rng=1), nnlib.Softmax()]),
                    capsys=capsys), label, "maps 2 inputs to 2 outputs")
    # a layer the exercise does not allow, inside an otherwise valid model
    assert_fail(run(check, lambda *data: Model([Dense(2, 8, rng=0), ReLU(), Dense(8, 8, rng=1), nnlib.Softmax(),
                                                Dense(8, 1, rng=2), Sigmoid()]), capsys=capsys), label,
                "the model uses Softmax, which the exercise does not allow", "use only nnlib's Dense, ReLU")

    # not the model: what fit returns, the predictions, nothing; a model whose training diverged
    def history(X_train, y_train, X_val, y_val):
        model = Model([Dense(2, 1, rng=0), Sigmoid()])
        return model.fit(X_train, y_train, loss="binary_crossentropy", optimizer=SGD(lr=0.5), epochs=1)

    assert_fail(run(check, history, capsys=capsys), label, "must be an nnlib Model, got History")
    assert_fail(run(check, lambda *data: _moons_model([4])(*data).predict(data[2]), capsys=capsys), label,
                "must be an nnlib Model, got ndarray")
    assert_fail(run(check, lambda *data: None, capsys=capsys), label, "must be an nnlib Model, got NoneType")

    def diverged(*data):
        model = _moons_model([4])(*data)
        model.layers[0].params["W"][0, 0] = np.nan
        return model

    assert_fail(run(check, diverged, capsys=capsys), label, "layer 0's W holds NaN or infinity")


def _recipe(mean=lambda X: X.mean(axis=0), std=lambda X: X.std(axis=0), lr=0.5):
    return lambda X_train, y_train: {"mean": mean(X_train), "std": std(X_train), "lr": lr}


def test_scaling_recipe_is_trained_by_the_checker(capsys):
    label, check = "ex-11-scaling-recipe", ex.check_scaling_recipe
    for answer, fragment in [
        (lambda X, y: (X.mean(axis=0), X.std(axis=0), 0.5), "returned a tuple"),
        (lambda X, y: {"mu": X.mean(axis=0), "sigma": X.std(axis=0), "lr": 0.5},
         "returned a dict with keys ['lr', 'mu', 'sigma']"),
        (_recipe(std=lambda X: X.std()), "std has shape () on the data set of the exercise (seed 11); expected (2,)"),
        (_recipe(mean=lambda X: X.mean(axis=0, keepdims=True)), "mean has shape (1, 2)"),
        (_recipe(std=lambda X: np.array([X[:, 0].std(), 0.0])), "std must be positive"),
        (_recipe(lr="0.5"), "lr is a str"),
        (_recipe(lr=0.0), "choose a learning rate between 0 and 100"),
        (_recipe(lr=200.0), "lr = 200"),
    ]:
        assert_fail(run(check, answer, capsys=capsys), label, fragment)
    # no scaling, or only half of it: the second feature still dominates
    for answer, fragment in [
        (_recipe(mean=lambda X: np.zeros(2), std=lambda X: np.ones(2)), "mean = [0.0, 0.0], std = [1.0, 1.0]"),
        (_recipe(std=lambda X: np.ones(2)), "std = [1.0, 1.0]"),
        (_recipe(mean=lambda X: np.zeros(2)), "mean = [0.0, 0.0], std = [0.8659, 53.8807]"),
        (_recipe(std=lambda X: X.var(axis=0)), "std = [0.7499, 2903.1262]"),
    ]:
        assert_fail(run(check, answer, capsys=capsys), label, "after 10 epochs on the data set of the exercise",
                    "below 90%", fragment, "on the same scale")
    # well scaled, but a learning rate far outside the window of the chapter's sweep
    for lr in (0.001, 50.0):
        assert_fail(run(check, _recipe(lr=lr), capsys=capsys), label, "after 10 epochs on the data set of the exercise",
                    "below 90%", f"lr = {lr:g}, mean = [0.4739, 324.5861], std = [0.8659, 53.8807]",
                    "Is the learning rate in the window of the chapter's sweep?")
