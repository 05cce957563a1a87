"""Checkers of chapter 6's coding exercises (persistence).

Each checker is registered with its exercise's label, the names of the answer
functions and the library functions an answer must not call (see
:mod:`coursework.registry`). The check cells call them; so does the class
checker, on answers run in a sandbox.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any, Callable

import numpy as np

from nnlib import Adam, BinaryCrossEntropy, Dense, Layer, Model, ModelFileError, ReLU, Sigmoid, Tanh

from ._checking import (Measured, _layers_text, _Failure, _call, _field, _gen, _one_line)
from .protocol import ExerciseFile
from .registry import exercise


def _save_load_cases() -> list[tuple[str, Callable[[], Model], int, bool]]:
    def deep() -> Model:
        gen = np.random.default_rng(54)
        layers: list[Layer] = []
        activations = [ReLU, Tanh, Sigmoid, ReLU, Tanh]
        for i in range(6):
            layers.append(Dense(5, 5, rng=gen))
            if i < 5:
                layers.append(activations[i]())
        layers.append(Sigmoid())
        return Model(list(layers))

    return [
        ("the chapter's 4-8-8-1 model", lambda: Model([Dense(4, 8, rng=1), Tanh(), Dense(8, 8, rng=2), Tanh(),
                                                        Dense(8, 1, rng=3), Sigmoid()]), 4, True),
        ("hidden test 1 (ends without an activation, 2 outputs)",
         lambda: Model([Dense(3, 5, rng=51), ReLU(), Dense(5, 5, rng=52), Tanh(), Dense(5, 2, rng=53)]), 3, False),
        ("hidden test 2 (one neuron)", lambda: Model([Dense(2, 1, rng=55), Sigmoid()]), 2, False),
        ("hidden test 3 (12 layers, all 5 wide)", deep, 5, False),
        ("hidden test 4 (two Dense layers in a row)",
         lambda: Model([Dense(3, 4, rng=56), Dense(4, 2, rng=57)]), 3, False),
    ]


def _layer_text(layer: Any) -> str:
    return repr(layer) if isinstance(layer, Layer) else f"a {type(layer).__name__}"


@exercise("ex-06-save-load", answers=("save_weights", "load_weights"),
          forbidden=("nnlib.model.Model.save", "nnlib.model.Model.load", "nnlib.model.save_model", "nnlib.model.load_model", "nnlib.persistence.save_layers", "nnlib.persistence.load_layers",))
def check_save_load(save_weights: Callable[[Model, str], Any], load_weights: Callable[[str], Model]) -> int:
    """Check ``save_weights(model, path)`` and ``load_weights(path)``: a round trip that keeps everything.

    Parameters
    ----------
    save_weights : callable
        ``save_weights(model, path)`` writing the model's architecture
        (every layer, activations included, in order) and parameters into the
        single ``.npz`` file ``path``, without pickled objects.
    load_weights : callable
        ``load_weights(path)`` returning a new :class:`nnlib.Model` rebuilt
        from that file.

    Returns
    -------
    None

    Notes
    -----
    Five models, four hidden: the chapter's, one ending without an activation,
    a single neuron, a 12-layer model whose Dense layers all have the same
    shape (a scrambled order goes unnoticed by shapes there, and names such as
    ``"layer10"`` sort before ``"layer2"``), and two Dense layers in a row.
    Biases are made non-zero so that weights and biases cannot be swapped
    unnoticed. Every file goes into a temporary folder that the checker
    creates and deletes. All models are saved first; then the originals'
    parameters are changed; then every file is loaded, so a loader that keeps
    the models in memory instead of reading the file fails. Each loaded model
    must have the same layers and give the same predictions as the original
    did when saved (to 12 significant digits; float64 round trips are exact).
    The file must be an ``.npz`` that ``np.load(path, allow_pickle=False)``
    reads completely, and must not be ``nnlib``'s own ``Model.save`` format.
    """
    
    def body() -> int:
        with tempfile.TemporaryDirectory(prefix="nnlib-exercise-") as folder:
            try:
                return run_all(folder)
            except _Failure as exc:  # the folder's random name must not reach the (compared) output
                exc.reason = exc.reason.replace(folder, "<tmp>")
                exc.hints = [line.replace(folder, "<tmp>") for line in exc.hints]
                raise

    def run_all(folder: str) -> int:
        cases = _save_load_cases()
        originals, saved, predictions, inputs = [], [], [], []
        for i, (case, make, n_in, shown) in enumerate(cases):
            model = make()
            gen = np.random.default_rng(500 + i)
            for layer in model.layers:
                if isinstance(layer, Dense):
                    layer.params["b"][...] = gen.normal(scale=0.5, size=layer.params["b"].shape)
            X = gen.normal(size=(8, n_in))
            fname = f"model{i + 1}.npz"
            path = ExerciseFile(os.path.join(folder, fname))   # the file travels with a remote call
            where = [f"model: {_layers_text(model)}" if shown else f"model: {case}", f"path: {fname}"]
            _call(save_weights, "save_weights", (model, path), where)
            if not os.path.isfile(path):
                raise _Failure(f"save_weights wrote no file at the path it was given ({case})",
                               where + ["write exactly to path, e.g. np.savez(path, ...) with path ending in .npz"])
            _check_file(path, where, model)
            originals.append(model)
            saved.append({k: p.copy() for k, p in model.named_parameters().items()})
            predictions.append(model.predict(X))
            inputs.append(X)
        for model in originals:  # change the originals: a loader must read the files
            for p in model.parameters():
                p += 1.0
        for i, (case, make, n_in, shown) in enumerate(cases):
            fname = f"model{i + 1}.npz"
            reference = make()
            where = [f"model: {_layers_text(reference)}" if shown else f"model: {case}", f"path: {fname}"]
            loaded = _call(load_weights, "load_weights", (ExerciseFile(os.path.join(folder, fname)),), where)
            if not isinstance(loaded, Model):
                raise _Failure(f"load_weights must return an nnlib Model, got a {type(loaded).__name__} ({case})",
                               where + ["rebuild the layers and return an nnlib Model made of them"])
            if any(loaded is m for m in originals):
                raise _Failure("load_weights returned the original model object instead of reading the file", where)
            _compare_layers(loaded, reference, case, where)
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    y_hat = loaded.predict(inputs[i])
            except Exception as exc:
                raise _Failure(f"the loaded model cannot predict ({case})",
                               where + [f"{type(exc).__name__}: {_one_line(exc)}"]) from None
            if y_hat.shape != predictions[i].shape or not np.allclose(y_hat, predictions[i], rtol=1e-12, atol=1e-15):
                hints = where + _field("expected", predictions[i][:3]) + _field("got     ", y_hat[:3])
                hints += _scrambled(loaded, saved[i])
                raise _Failure(f"the loaded model predicts differently from the saved one ({case})", hints)
        return len(cases)

    def _check_file(path: str, where: list[str], model: Model) -> None:
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic.startswith(b"\x80"):
            raise _Failure("the saved file is a pickle",
                           where + ["store only numeric arrays and strings (e.g. the architecture as a JSON "
                                    "string) with np.savez; loading a pickle can run arbitrary code"])
        if magic.startswith(b"\x93NUMPY"):
            raise _Failure("the saved file is a single .npy array, not an .npz archive", where + ["use np.savez"])
        if not magic.startswith(b"PK"):
            raise _Failure("the saved file is not an .npz archive", where + ["write it with np.savez(path, ...)"])
        try:
            with np.load(path, allow_pickle=False) as data:
                contents = {key: data[key] for key in data.files}
        except ValueError as exc:
            if "pickle" in str(exc).lower():
                raise _Failure("the saved file contains pickled Python objects",
                               where + ["store only numeric arrays and strings (e.g. the architecture as a JSON "
                                        "string); loading a pickle can run arbitrary code"]) from None
            raise _Failure("the saved file is not an .npz archive that np.load(path, allow_pickle=False) reads",
                           where + [_one_line(exc)]) from None
        except Exception as exc:
            raise _Failure("the saved file is not an .npz archive that np.load(path, allow_pickle=False) reads",
                           where + [f"{type(exc).__name__}: {_one_line(exc)}"]) from None
        marker = contents.get("__architecture__")
        if marker is not None and "nnlib-model" in str(marker):
            raise _Failure("the file is nnlib's own Model.save format; write your own save_weights", where)
        stored = sum(a.size for a in contents.values() if a.dtype.kind == "f")
        if stored < model.n_params:
            raise _Failure(f"the saved file holds {stored} floating-point numbers, but the model has "
                           f"{model.n_params} parameters", where + ["save every W and b into the file"])

    def _compare_layers(loaded: Model, reference: Model, case: str, where: list[str]) -> None:
        got, want = loaded.layers, reference.layers
        for j, expected_layer in enumerate(want):
            if j >= len(got):
                missing = ", ".join(repr(layer) for layer in want[j:])
                raise _Failure(f"the loaded model has {len(got)} layers, expected {len(want)} ({case})",
                               where + [f"missing at the end: {missing}"])
            layer = got[j]
            same = type(layer) is type(expected_layer) and (
                not isinstance(layer, Dense) or (layer.in_features, layer.out_features)
                == (expected_layer.in_features, expected_layer.out_features))
            if not same:
                raise _Failure(f"layer {j} of the loaded model is {_layer_text(layer)}, expected "
                               f"{expected_layer!r} ({case})",
                               where + ["store every layer, activations included, in order"])
        if len(got) > len(want):
            raise _Failure(f"the loaded model has {len(got)} layers, expected {len(want)} ({case})", where)

    return body()


def _scrambled(loaded: Model, saved: dict[str, np.ndarray]) -> list[str]:
    """Name the parameters whose values came back in the wrong place (``saved``: name -> value when saved)."""
    for key, value in loaded.named_parameters().items():
        if key in saved and saved[key].shape == value.shape and np.allclose(value, saved[key], rtol=1e-12, atol=1e-15):
            continue
        source = [k for k, v in saved.items() if v.shape == value.shape and np.array_equal(v, value)]
        if source:
            return [f"{key} holds the values saved from {source[0]}: the order of the arrays got mixed up"]
        if key in saved and saved[key].shape == value.shape:
            if np.allclose(value, saved[key], rtol=1e-6):
                return [f"{key} differs from the saved values in the 7th digit or so: save float64, not float32 "
                        "or rounded text"]
            return [f"{key} does not hold the values that were saved"]
    return []




# ---------------------------------------------------------------------------------------------
# The experiment: a smaller file that predicts as well
# ---------------------------------------------------------------------------------------------
def _rule_data(gen: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The chapter's task: four standard-normal features, class 1 when x0 + x1 x2 > 0."""
    X = gen.standard_normal((n, 4))
    return X, (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(float)


def _trained_rule_model(seed: int) -> tuple[Model, np.ndarray, np.ndarray]:
    """A 4-64-64-1 tanh network trained on 400 fresh points of the chapter's task, and 2000 fresh test points."""
    gen = _gen(seed)
    X_train, y_train = _rule_data(gen, 400)
    X_test, y_test = _rule_data(gen, 2000)
    model = Model([Dense(4, 64, rng=gen), Tanh(), Dense(64, 64, rng=gen), Tanh(), Dense(64, 1, rng=gen), Sigmoid()])
    model.fit(X_train, y_train, loss=BinaryCrossEntropy(), optimizer=Adam(lr=0.01), epochs=60, batch_size=32,
              rng=gen)
    return model, X_test, y_test


@exercise("ex-06-experiment", answers=("save_small",), forbidden=())
def check_save_small(save_small: Callable[[Model, str], Any]) -> int:
    """Check ``save_small(model, path)``: a file half the size of nnlib's that predicts as well.

    Parameters
    ----------
    save_small : callable
        ``save_small(model, path)`` writing the trained ``model`` to the file
        ``path`` so that ``nnlib.load_model(path)`` reads it back.

    Returns
    -------
    None

    Notes
    -----
    Two 4-64-64-1 tanh networks (4,545 parameters), trained by the checker on
    fresh data of the chapter's task (class 1 when :math:`x_0 + x_1 x_2 > 0`).
    Each file must be at most half the size of the file ``model.save`` writes
    for the same model (float64), must load with ``nnlib.load_model`` (which
    trusts nothing in it) into the same layers, and the loaded model's
    accuracy on 2000 fresh points may be at most 0.01 below the original's.
    The answer gets a copy of each model; the file goes into a temporary
    folder that the checker creates and deletes.
    """
    from ._experiment import measured_accuracy
    from .protocol import decode, encode

    name = "save_small"
    n_models, limit, tolerance = 2, 0.5, 0.01

    def body() -> int:
        with tempfile.TemporaryDirectory(prefix="nnlib-exercise-") as folder:
            try:
                return run_all(folder)
            except _Failure as exc:  # the folder's random name must not reach the (compared) output
                exc.reason = exc.reason.replace(folder, "<tmp>")
                exc.hints = [line.replace(folder, "<tmp>") for line in exc.hints]
                raise

    def run_all(folder: str) -> int:
        ratios, drops = [], []
        for k in range(n_models):
            model, X_test, y_test = _trained_rule_model(640 + k)
            reference = model.save(os.path.join(folder, f"float64-{k + 1}.npz"))
            fname = f"small{k + 1}.npz"
            path = ExerciseFile(os.path.join(folder, fname))
            where = [f"model {k + 1} of {n_models}: {_layers_text(model)}", f"path: {fname}"]
            _call(save_small, name, (decode(encode(model)), path), where)
            if os.path.islink(path) or not os.path.isfile(path):
                raise _Failure(f"{name} wrote no file at the path it was given", where)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    loaded = Model.load(path)
            except ModelFileError as exc:
                raise _Failure("nnlib.load_model cannot read the file",
                               where + [_one_line(str(exc).replace(str(path), fname)),
                                        "nnlib reads float32 and float64 parameters, stored under the names "
                                        "and with the architecture that model.save writes"]) from None
            except Exception as exc:
                raise _Failure("nnlib.load_model cannot read the file",
                               where + [f"{type(exc).__name__}: {_one_line(exc)}"]) from None
            got, want = [repr(layer) for layer in loaded.layers], [repr(layer) for layer in model.layers]
            if got != want:
                raise _Failure("the file holds other layers than the model it was given",
                               where + [f"loaded: {', '.join(got)}"])
            ratio = os.path.getsize(path) / os.path.getsize(reference)
            before = measured_accuracy(model, X_test, y_test)
            after = measured_accuracy(loaded, X_test, y_test)
            ratios.append(ratio)
            drops.append(before - after)
            sizes = f"{os.path.getsize(path):,} bytes, {ratio:.0%} of model.save's {os.path.getsize(reference):,}"
            if after < before - tolerance - 1e-12:
                raise _Failure(f"the loaded model's accuracy is {after:.3f}, the original's {before:.3f} "
                               f"(at most {tolerance} lower allowed)",
                               where + [f"file: {sizes}", "keep more precision in the parameters"])
            if ratio > limit:
                raise _Failure(f"the file is {ratio:.0%} of the size of model.save's (limit {limit:.0%})",
                               where + [f"file: {sizes}",
                                        "float32 halves the numbers, but the file also holds names, the "
                                        "architecture and the zip's directory; numbers with fewer "
                                        "significant bits compress (np.savez_compressed)"])
        return Measured(n_models, f"files at most {max(ratios):.0%} of model.save's size (target {limit:.0%} or "
                        f"less), accuracy at most {max(max(drops), 0.0):.3f} below the original's (target "
                        f"{tolerance} or less)")

    return body()
