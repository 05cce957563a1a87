"""The :class:`Model`: a stack of layers with predict, fit, save and load."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ._checks import as_generator, check_2d, check_positive_int
from ._progress import ProgressBar
from .activations import Sigmoid, Softmax, get_activation
from .layers import Dense, Dropout, Layer
from .losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy, get_loss
from .metrics import METRICS, accuracy, to_classes
from .optimizers import Optimizer
from .persistence import ModelFileError, load_layers, save_layers


class History:
    """What :meth:`Model.fit` records, one value per epoch.

    Attributes
    ----------
    history : dict of str to list of float
        ``"loss"`` always; ``"accuracy"`` if asked for; ``"val_loss"`` and
        ``"val_accuracy"`` when validation data is given.
    epoch : list of int
        The epoch numbers, starting at 1.
    stop_reason : str or None
        Why training stopped before ``epochs`` (e.g. the loss threshold), or None.
    best_epoch : int or None
        With ``patience``: the epoch whose parameters the model ends with.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stop_reason: str | None = None
        self.best_epoch: int | None = None

    def _record(self, epoch: int, values: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History(epochs={len(self.epoch)}" + (f", {last})" if last else ")")


class Model:
    """A feed-forward network: layers applied one after another.

    Parameters
    ----------
    layers : iterable of Layer, optional
        Initial layers; more can be added with :meth:`add`.

    Examples
    --------
    >>> from nnlib import Model, Dense, ReLU, Sigmoid
    >>> model = Model([Dense(2, 8, rng=0), ReLU(), Dense(8, 1, rng=1), Sigmoid()])
    >>> model.predict([[0.0, 1.0]]).shape
    (1, 1)
    """

    def __init__(self, layers: Iterable[Layer] | None = None) -> None:
        self.layers: list[Layer] = []
        for layer in layers or []:
            self.add(layer)

    # -- building -------------------------------------------------------------------
    def add(self, layer: Layer) -> "Model":
        """Append a layer, checking that its input width fits the previous output."""
        if isinstance(layer, type) and issubclass(layer, Layer):
            raise TypeError(f"Model.add: got the class {layer.__name__}, not a layer; did you mean {layer.__name__}()?")
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Model.add: expected a layer such as Dense(2, 8) or ReLU(), got {type(layer).__name__}."
            )
        width = self.out_features
        if isinstance(layer, Dense) and width is not None and layer.in_features != width:
            raise ValueError(
                f"Model.add: {layer!r} expects {layer.in_features} input(s) but the previous "
                f"layers output {width}; use Dense({width}, {layer.out_features})."
            )
        self.layers.append(layer)
        return self

    @classmethod
    def from_architecture(
        cls,
        spec: Sequence[dict[str, Any]],
        *,
        init: str | None = None,
        rng: None | int | np.random.Generator = None,
    ) -> "Model":
        """Build a model from a list of dicts, the format of source B.

        Parameters
        ----------
        spec : list of dict
            One dict per Dense layer with keys ``"input_dim"``, ``"output_dim"``
            and ``"activation"`` (``"relu"``, ``"sigmoid"``, ``"tanh"``, or
            ``None``/``"linear"`` for none). Each ``input_dim`` must equal the
            previous ``output_dim``.
        init : str, optional
            Weight initialiser for every Dense layer. By default ``"he"`` for
            layers followed by ReLU and ``"xavier"`` for the others.
        rng : None, int or Generator
            Drives every layer's initial weights, in order.

        Examples
        --------
        >>> spec = [{"input_dim": 2, "output_dim": 4, "activation": "relu"},
        ...         {"input_dim": 4, "output_dim": 1, "activation": "sigmoid"}]
        >>> Model.from_architecture(spec, rng=0).n_params
        17
        """
        where = "Model.from_architecture"
        example = "[{'input_dim': 2, 'output_dim': 4, 'activation': 'relu'}, ...]"
        if isinstance(spec, (str, bytes, dict)) or not isinstance(spec, Sequence):
            raise TypeError(f"{where}: expected a list of dicts like {example}, got {type(spec).__name__}.")
        if len(spec) == 0:
            raise ValueError(f"{where}: the architecture is empty; give at least one layer, like {example}.")
        allowed = ("input_dim", "output_dim", "activation")
        gen = as_generator(rng, where)
        model = cls()
        for i, entry in enumerate(spec):
            if not isinstance(entry, dict):
                raise TypeError(f"{where}: layer {i} is a {type(entry).__name__}, expected a dict like {example}.")
            unknown = sorted(set(entry) - set(allowed))
            if unknown:
                raise ValueError(
                    f"{where}: layer {i} has unknown key(s) {', '.join(map(repr, unknown))}; "
                    f"the allowed keys are {', '.join(map(repr, allowed))}."
                )
            missing = [k for k in allowed if k not in entry]
            if missing:
                raise ValueError(f"{where}: layer {i} is missing {', '.join(map(repr, missing))}.")
            for key in ("input_dim", "output_dim"):
                check_positive_int(entry[key], f"layer {i} {key!r}", where)
            if i > 0 and entry["input_dim"] != spec[i - 1]["output_dim"]:
                raise ValueError(
                    f"{where}: layer {i} has input_dim {entry['input_dim']} but layer {i - 1} has "
                    f"output_dim {spec[i - 1]['output_dim']}; they must be equal."
                )
            act_name = entry["activation"]
            activation = None
            if act_name is not None and act_name != "linear":
                try:
                    activation = get_activation(act_name)
                except ValueError as exc:
                    raise ValueError(f"{where}: layer {i}: {exc}") from None
            layer_init = init or ("he" if isinstance(act_name, str) and act_name.lower() == "relu" else "xavier")
            model.add(Dense(entry["input_dim"], entry["output_dim"], init=layer_init, rng=gen))
            if activation is not None:
                model.add(activation)
        return model

    # -- shapes and parameters ---------------------------------------------------------
    @property
    def in_features(self) -> int | None:
        """Number of input features, from the first Dense layer (None if there is none)."""
        for layer in self.layers:
            if isinstance(layer, Dense):
                return layer.in_features
        return None

    @property
    def out_features(self) -> int | None:
        """Width of the model's output (None if it has no Dense layer)."""
        width = None
        for layer in self.layers:
            if isinstance(layer, Dense):
                width = layer.out_features
        return width

    @property
    def n_params(self) -> int:
        """Total number of trainable numbers."""
        return sum(layer.n_params for layer in self.layers)

    @property
    def dtype(self) -> np.dtype:
        """Floating-point type of the parameters (float64 unless changed with :meth:`astype`)."""
        for p in self.parameters():
            return p.dtype
        return np.dtype(np.float64)

    def astype(self, dtype: Any) -> "Model":
        """Convert every parameter (and gradient buffer) to ``dtype``, e.g. ``np.float32``; returns the model.

        float32 halves memory traffic and is faster for larger layers; float64
        (the default) is what the gradient checks need. This is the one method
        that gives the layers new parameter arrays: arrays taken from
        ``layer.params`` before it keep the old values and dtype.
        """
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"Model.astype: dtype must be float32 or float64, got {dtype}.")
        for layer in self.layers:
            layer._set_dtype(dtype)
        return self

    def parameters(self) -> list[np.ndarray]:
        """Every parameter array, layer by layer (the arrays themselves, not copies)."""
        return [p for layer in self.layers for p in layer.params.values()]

    def gradients(self) -> list[np.ndarray]:
        """Every gradient array, in the same order as :meth:`parameters`."""
        return [layer.grads[k] for layer in self.layers for k in layer.params]

    def _optimizer_arrays(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The arrays an optimizer updates in ``fit``: one buffer per layer (see ``Layer._store``)."""
        params: list[np.ndarray] = []
        grads: list[np.ndarray] = []
        for layer in self.layers:
            p, g = layer._optimizer_arrays()
            params += p
            grads += g
        return params, grads

    def named_parameters(self) -> dict[str, np.ndarray]:
        """Parameters by readable name, such as ``"layer0.W"`` and ``"layer0.b"``."""
        return {f"layer{i}.{k}": p for i, layer in enumerate(self.layers) for k, p in layer.params.items()}

    def summary(self) -> str:
        """A table of the layers, their output shapes and parameter counts."""
        rows = []
        width: int | None = None
        for i, layer in enumerate(self.layers):
            width = layer.output_features(width) if width is not None or isinstance(layer, Dense) else None
            shape = f"(n, {width})" if width is not None else "(n, ?)"
            rows.append((str(i), repr(layer), shape, f"{layer.n_params:,}"))
        header = ("#", "layer", "output shape", "params")
        cols = list(zip(header, *rows)) if rows else [(h,) for h in header]
        w = [max(len(c) for c in col) for col in cols]
        fmt = lambda r: f"  {r[0]:>{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]:>{w[3]}}"  # noqa: E731
        lines = [f"Model: {len(self.layers)} layers, {self.n_params:,} trainable parameters", fmt(header)]
        lines += [fmt(r) for r in rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    # -- computing ------------------------------------------------------------------------
    def _require_layers(self, where: str) -> None:
        if self.in_features is None:
            raise ValueError(f"{where}: the model has no Dense layer yet; add layers with model.add(Dense(...)).")

    def _check_finite_parameters(self, where: str) -> None:
        """Refuse a model whose parameters hold NaN or infinity: its outputs would mean nothing."""
        for name, p in self.named_parameters().items():
            if not np.isfinite(p).all():
                raise ValueError(
                    f"{where}: parameter {name} contains NaN or infinity, so every output would be "
                    "meaningless. Did an earlier training run diverge? Train again from fresh weights "
                    "with a smaller learning rate, or load a saved model."
                )

    def predict(self, X: Any) -> np.ndarray:
        """Forward pass: outputs of shape ``(n_samples, out_features)`` for ``X`` of shape ``(n_samples, in_features)``."""
        self._require_layers("Model.predict")
        X = check_2d(X, "X", "Model.predict", self.in_features).astype(self.dtype, copy=False)
        self._check_finite_parameters("Model.predict")
        return self._forward(X)

    def predict_classes(self, X: Any, threshold: float = 0.5) -> np.ndarray:
        """Class labels of shape ``(n_samples,)``: output > threshold for one output, argmax for several."""
        return to_classes(self.predict(X), threshold)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            X = layer._forward(X)
        return X

    def _check_data(self, X: Any, y: Any, loss: Loss, where: str) -> tuple[np.ndarray, np.ndarray]:
        self._require_layers(where)
        if isinstance(loss, BinaryCrossEntropy) and not isinstance(self.layers[-1], Sigmoid):
            raise ValueError(
                f"{where}: BinaryCrossEntropy needs probabilities in [0, 1], but the model's last layer is "
                f"{self.layers[-1]!r}, not Sigmoid(); end the model with Sigmoid() or use MSE()."
            )
        if isinstance(loss, SoftmaxCrossEntropy) and isinstance(self.layers[-1], Softmax):
            raise ValueError(
                f"{where}: the model ends with Softmax() but SoftmaxCrossEntropy expects logits "
                "(it applies the softmax itself); remove the final Softmax layer."
            )
        dtype = self.dtype
        X = check_2d(X, "X", where, self.in_features).astype(dtype, copy=False)
        y = loss._targets(y, (X.shape[0], self.out_features), where).astype(dtype, copy=False)
        return X, y

    def _fused(self, loss: Loss) -> bool:
        # Sigmoid followed by cross-entropy: use dL/dz = (y_hat - y)/N directly.
        return bool(self.layers) and isinstance(self.layers[-1], Sigmoid) and isinstance(loss, BinaryCrossEntropy)

    def penalty(self) -> float:
        """The weight-decay penalty: :math:`\\sum \\tfrac{\\lambda}{2}\\lVert W \\rVert^2` over the Dense layers.

        Each Dense layer adds its own ``weight_decay`` :math:`\\lambda` times half
        the sum of its squared weights (biases are not penalised); 0.0 when no
        layer has weight decay. :meth:`fit` minimises the loss plus this
        penalty, and :meth:`compute_gradients` returns that sum; :meth:`evaluate`
        and the validation loss report the loss alone.
        """
        return float(sum(0.5 * layer.weight_decay * float(np.vdot(layer.params["W"], layer.params["W"]))
                         for layer in self._decayed()))

    def _decayed(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense) and layer.weight_decay]

    def _add_penalty(self, value: float, decayed: list[Dense]) -> float:
        """Add the weight-decay penalty to ``value`` and its gradient, lambda * W, to each layer's grads."""
        for layer in decayed:
            W, gW = layer.params["W"], layer.grads["W"]
            value += 0.5 * layer.weight_decay * float(np.vdot(W, W))
            gW += layer.weight_decay * W
        return value

    def _set_dropout(self, gen: np.random.Generator | None) -> None:
        """Dropout on (masks from ``gen``) for training batches, or off (None) for everything else."""
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer._gen = gen

    def _backprop(self, X: np.ndarray, y: np.ndarray, loss: Loss, fused: bool) -> tuple[float, np.ndarray]:
        y_hat = self._forward(X)
        if fused:
            value, grad, layers = loss._value(y, y_hat), loss.grad_wrt_logits(y, y_hat), self.layers[:-1]
        else:
            (value, grad), layers = loss._value_and_grad(y, y_hat), self.layers
        for i in range(len(layers) - 1, -1, -1):
            grad = layers[i]._backward(grad, need_input_grad=i > 0)
        return float(value), y_hat

    def compute_gradients(self, X: Any, y: Any, loss: Loss | str) -> float:
        """Backpropagation: one forward and one backward pass over ``(X, y)``.

        Fills every layer's ``grads`` and returns the loss, plus the weight-decay
        :meth:`penalty` if any layer has one (and its gradient is in ``grads``);
        changes no parameter. Dropout layers pass their input through, as in
        :meth:`predict`.
        """
        loss = get_loss(loss)
        X, y = self._check_data(X, y, loss, "Model.compute_gradients")
        return self._add_penalty(self._backprop(X, y, loss, self._fused(loss))[0], self._decayed())

    def evaluate(self, X: Any, y: Any, *, loss: Loss | str, metrics: Sequence[str] = ("accuracy",)) -> dict[str, float]:
        """Loss (and metrics) of the model on ``(X, y)``, without training."""
        loss = get_loss(loss)
        metrics = _check_metrics(metrics)
        X, y = self._check_data(X, y, loss, "Model.evaluate")
        self._check_finite_parameters("Model.evaluate")
        y_hat = self._forward(X)
        result = {"loss": float(loss._value(y, y_hat))}
        for m in metrics:
            result[m] = METRICS[m](y, y_hat)
        return result

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        loss: Loss | str,
        optimizer: Optimizer,
        epochs: int,
        batch_size: int | None = None,
        rng: None | int | np.random.Generator = None,
        metrics: Sequence[str] = (),
        validation_data: tuple[Any, Any] | None = None,
        shuffle: bool = True,
        loss_threshold: float | None = None,
        patience: int | None = None,
        verbose: int = 0,
        progress: bool | None = None,
    ) -> History:
        """Train with minibatch gradient descent.

        Each epoch visits every sample once, in batches of ``batch_size``
        (the whole set when None: full-batch gradient descent). For each batch:
        forward pass, loss, backward pass (:meth:`compute_gradients`), then
        ``optimizer.step``.

        Parameters
        ----------
        X : array of shape (n_samples, in_features)
        y : array of shape (n_samples, out_features), or (n_samples,) for one output
        loss : Loss or str
        optimizer : Optimizer, e.g. ``SGD(lr=0.1)``
        epochs : int
        batch_size : int, optional
        rng : None, int or Generator
            Drives the shuffling of minibatches: the same seed, the same run.
        metrics : sequence of str
            ``("accuracy",)`` to record accuracy as well.
        validation_data : (X_val, y_val), optional
            Evaluated after every epoch into ``val_loss`` (and ``val_*`` metrics).
        shuffle : bool, default True
            Reshuffle the samples every epoch (only matters with minibatches).
        loss_threshold : float, optional
            Stop as soon as an epoch's training loss falls below this.
        patience : int, optional
            Early stopping on the validation loss (needs ``validation_data``):
            stop once it has not improved for ``patience`` epochs in a row, and
            put back the parameters of the best epoch (``history.best_epoch``).
        verbose : int, default 0
            Print a line every ``verbose`` epochs (0: silent).
        progress : bool, optional
            Show a one-line progress bar on standard error. By default it is
            shown only when standard error is an interactive terminal (and
            ``verbose`` is off), so it never appears in notebooks, tests or logs.

        Returns
        -------
        History
            ``history.history["loss"]`` holds each epoch's training loss: the
            mean over its batches of the loss computed just before each update
            (plus the weight-decay :meth:`penalty`, if any layer has one).

        Notes
        -----
        Dropout layers are on for the training batches only, with masks drawn
        from ``rng`` (after the shuffling), and off for the validation data
        and once ``fit`` returns.
        """
        where = "Model.fit"
        loss = get_loss(loss)
        # 1. Check every argument once, before any work.
        X, y, validation, metrics, batch_size = self._check_fit_arguments(
            X, y, loss, optimizer, epochs, batch_size, metrics, validation_data, patience, loss_threshold, where
        )
        epochs = int(epochs)
        gen = as_generator(rng, where)
        params, grads = self._optimizer_arrays()
        labels = to_classes(y) if "accuracy" in metrics else None  # the true classes, found once
        # 2. The helpers that watch the run: early stopping, divergence, what is printed.
        stopping = _EarlyStopping(int(patience), params) if patience is not None else None
        guard = _DivergenceGuard(params)
        report = _Report(epochs, int(verbose), progress)
        history = History()
        # Overflow in a diverging run is caught by the guard, with a clear error,
        # instead of NumPy warnings.
        decayed = self._decayed()
        with report, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(1, epochs + 1):
                # 3. One pass over the training data (dropout on), then the validation data.
                self._set_dropout(gen)
                try:
                    record = self._train_epoch(X, y, labels, loss, optimizer, params, grads, batch_size, shuffle,
                                               gen, guard, decayed)
                except _Diverged as diverged:
                    raise TrainingDivergedError(where, epoch, diverged.batch, diverged.what, optimizer, history) from None
                finally:
                    self._set_dropout(None)
                if validation is not None:
                    record.update(self._validation_record(*validation, loss, metrics))
                history._record(epoch, record)
                report.epoch(epoch, record)
                # 4. The stopping rules.
                if loss_threshold is not None and record["loss"] < loss_threshold:
                    history.stop_reason = f"loss {record['loss']:.3g} < {loss_threshold:g} at epoch {epoch}"
                if stopping is not None:
                    reason = stopping.update(epoch, record["val_loss"])
                    history.best_epoch = stopping.best_epoch
                    history.stop_reason = reason or history.stop_reason
                if history.stop_reason is not None:
                    report.stopped(history.stop_reason)
                    break
        # 5. With patience, end with the parameters of the best epoch.
        if stopping is not None:
            stopping.restore(history.epoch[-1])
        return history

    def _check_fit_arguments(
        self, X: Any, y: Any, loss: Loss, optimizer: Any, epochs: Any, batch_size: Any, metrics: Any,
        validation_data: Any, patience: Any, loss_threshold: Any, where: str,
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None, tuple[str, ...], int]:
        """The training data, validation data, metrics and batch size, checked and converted."""
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{where}: optimizer must be an nnlib optimizer such as SGD(lr=0.1), got {type(optimizer).__name__}.")
        check_positive_int(epochs, "epochs", where)
        metrics = _check_metrics(metrics)
        X, y = self._check_data(X, y, loss, where)
        n = X.shape[0]
        batch_size = n if batch_size is None else min(check_positive_int(batch_size, "batch_size", where), n)
        validation = None
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise TypeError(f"{where}: validation_data must be a pair (X_val, y_val).")
            validation = self._check_data(*validation_data, loss, where + " (validation_data)")
        if patience is not None:
            check_positive_int(patience, "patience", where)
            if validation_data is None:
                raise ValueError(f"{where}: patience watches the validation loss; pass validation_data=(X_val, y_val) too.")
        if loss_threshold is not None and not (isinstance(loss_threshold, (int, float)) and loss_threshold > 0):
            raise ValueError(f"{where}: loss_threshold must be a positive number, got {loss_threshold!r}.")
        self._check_finite_parameters(where)
        return X, y, validation, metrics, batch_size

    def _train_epoch(
        self, X: np.ndarray, y: np.ndarray, labels: np.ndarray | None, loss: Loss, optimizer: Optimizer,
        params: list[np.ndarray], grads: list[np.ndarray], batch_size: int, shuffle: bool,
        gen: np.random.Generator, guard: "_DivergenceGuard", decayed: list[Dense],
    ) -> dict[str, float]:
        """One epoch of minibatch updates; returns the mean training loss (and accuracy)."""
        n = X.shape[0]
        fused = self._fused(loss)
        # Each batch gathers its own rows of a fresh permutation: gathering the
        # whole shuffled set first would write a copy of the data each epoch and
        # push the model's arrays out of the cache.
        order = gen.permutation(n) if shuffle and batch_size < n else None
        total, correct = 0.0, 0
        for batch, start in enumerate(range(0, n, batch_size), start=1):
            if order is None:
                rows = slice(start, start + batch_size)
                xb, yb = X[rows], y[rows]
            else:
                rows = order[start : start + batch_size]
                xb, yb = X.take(rows, axis=0), y.take(rows, axis=0)
            value, y_hat = self._backprop(xb, yb, loss, fused)
            if decayed:
                value = self._add_penalty(value, decayed)
            if not math.isfinite(value):
                guard.undo_last_step()  # these parameters came from the last step
                raise _Diverged(batch, f"the loss became {value}")
            guard.keep()
            optimizer._step(params, grads)
            if not guard.finite():
                guard.undo_last_step()
                raise _Diverged(batch, "a parameter became NaN or infinite")
            total += value * xb.shape[0]
            if labels is not None:
                correct += int(np.count_nonzero(to_classes(y_hat) == labels[rows]))
        record = {"loss": total / n}
        if labels is not None:
            record["accuracy"] = correct / n
        return record

    def _validation_record(self, X_val: np.ndarray, y_val: np.ndarray, loss: Loss, metrics: tuple[str, ...]) -> dict[str, float]:
        y_val_hat = self._forward(X_val)
        record = {"val_loss": float(loss._value(y_val, y_val_hat))}
        if "accuracy" in metrics:
            record["val_accuracy"] = accuracy(y_val, y_val_hat)
        return record

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Save architecture and parameters to one ``.npz`` file (atomically); return its path.

        See :mod:`nnlib.persistence` for the format and what is checked.
        """
        return save_layers(self.layers, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Model":
        """Rebuild a model saved with :meth:`save`: same layers, same parameters, bit for bit.

        Raises ``FileNotFoundError`` if there is no file at ``path``, and
        :class:`nnlib.ModelFileError` if the file is not a complete, consistent
        nnlib model file (nothing is returned then: there is no half-loaded model).
        """
        layers = load_layers(path)
        try:
            return cls(layers)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{path}: the saved layers do not fit together ({exc}).") from None


def save_model(model: Model, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` (``.npz`` is appended if missing); the same as ``model.save(path)``."""
    if not isinstance(model, Model):
        raise TypeError(f"save_model: expected an nnlib Model, got {type(model).__name__}.")
    return model.save(path)


def load_model(path: str | os.PathLike) -> Model:
    """Rebuild the model saved at ``path``; the same as ``Model.load(path)``."""
    return Model.load(path)


class TrainingDivergedError(ArithmeticError):
    """Training produced a NaN or infinite loss or parameter; the message says what to try.

    Attributes
    ----------
    epoch, batch : int
        Where it happened (both counted from 1).
    history : History
        The epochs completed before it.
    """

    def __init__(self, where: str, epoch: int, batch: int, what: str, optimizer: Optimizer, history: History) -> None:
        self.epoch, self.batch, self.history = epoch, batch, history
        super().__init__(
            f"{where}: training diverged in epoch {epoch}, batch {batch}: {what}. The model keeps "
            f"its parameters from before the step that broke it. The steps were too large for this "
            f"data: try a smaller learning rate than {optimizer!r}, or scale the inputs (for example "
            "to mean 0 and standard deviation 1 per feature)."
        )


class _Diverged(Exception):
    def __init__(self, batch: int, what: str) -> None:
        self.batch, self.what = batch, what


class _DivergenceGuard:
    """Notices the first non-finite parameter, and can put back the parameters of one step ago."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.params = params
        self.before = [p.copy() for p in params]
        self.stepped = False

    def keep(self) -> None:
        """Remember the parameters before an update (one copy; the buffers are contiguous)."""
        for p, b in zip(self.params, self.before):
            np.copyto(b, p)
        self.stepped = True

    def finite(self) -> bool:
        # One sum per buffer: any NaN or infinity makes it non-finite. Only then
        # (or if finite values overflow the sum) is each entry looked at.
        return all(math.isfinite(float(p.sum())) or bool(np.isfinite(p).all()) for p in self.params)

    def undo_last_step(self) -> None:
        if self.stepped:
            for p, b in zip(self.params, self.before):
                np.copyto(p, b)


class _EarlyStopping:
    """Patience on the validation loss, with a copy of the best epoch's parameters."""

    def __init__(self, patience: int, params: list[np.ndarray]) -> None:
        self.patience, self.params = patience, params
        self.best_loss, self.best_epoch, self.waited = np.inf, None, 0
        self.best: list[np.ndarray] | None = None

    def update(self, epoch: int, val_loss: float) -> str | None:
        """Record an epoch; return why training should stop, or None."""
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.waited = val_loss, epoch, 0
            self.best = [p.copy() for p in self.params]
            return None
        self.waited += 1
        if self.waited >= self.patience:
            return f"val_loss has not improved for {self.patience} epochs; restored epoch {self.best_epoch}"
        return None

    def restore(self, last_epoch: int) -> None:
        if self.best is not None and self.best_epoch != last_epoch:
            for p, best in zip(self.params, self.best):
                p[...] = best


class _Report:
    """What fit shows while it runs: a progress bar, or a line every ``verbose`` epochs."""

    def __init__(self, epochs: int, verbose: int, progress: bool | None) -> None:
        self.epochs, self.verbose = epochs, verbose
        # The bar and verbose lines would interleave: by default, one or the other.
        show_bar = ProgressBar.wanted(progress) if progress is not None or not verbose else False
        self.bar = ProgressBar(epochs) if show_bar else None

    def __enter__(self) -> "_Report":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()

    def epoch(self, epoch: int, record: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.update(epoch, record)
        if self.verbose and (epoch % self.verbose == 0 or epoch == 1 or epoch == self.epochs):
            width = len(str(self.epochs))
            print(f"epoch {epoch:>{width}}/{self.epochs}  " + "  ".join(f"{k} {v:.4f}" for k, v in record.items()))

    def stopped(self, reason: str) -> None:
        if self.verbose:
            print(f"stopped: {reason}")


def _check_metrics(metrics: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    for m in metrics:
        if m not in METRICS:
            valid = ", ".join(repr(k) for k in METRICS)
            raise ValueError(f"Unknown metric {m!r}; choose from {valid}.")
    return tuple(metrics)
