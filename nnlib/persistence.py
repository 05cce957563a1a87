"""Saving and loading models as one ``.npz`` file.

The file holds, as plain arrays that ``numpy.load(path, allow_pickle=False)``
reads:

* ``__architecture__``: a JSON string with the format name, the format version,
  the nnlib version that wrote it and every layer's configuration, activations
  included, in order;
* one array per parameter, named ``layer{i}.{name}`` (for example
  ``layer0.W``, ``layer0.b``, ``layer2.W``) after the layer's index in the model.

Saving writes to a temporary file in the same folder and renames it over the
target only once it is complete, so a crash mid-save never leaves a broken
file behind and never destroys an earlier one. Loading never unpickles
anything, checks every name, shape and dtype against the architecture before
building the model, and raises :class:`ModelFileError` for a truncated,
corrupt, foreign or mismatched file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .activations import ReLU, Sigmoid, Softmax, Tanh
from .layers import Dense, Layer

FORMAT_NAME = "nnlib-model"
FORMAT_VERSION = 1
ARCHITECTURE_KEY = "__architecture__"


class ModelFileError(ValueError):
    """A file that cannot be loaded as an nnlib model; the message says why."""


def _build_dense(config: dict[str, Any]) -> Dense:
    return Dense(config["in_features"], config["out_features"], init="zeros")


# type name -> (required config keys besides "type", constructor)
LAYER_BUILDERS: dict[str, tuple[tuple[str, ...], Any]] = {
    "Dense": (("in_features", "out_features"), _build_dense),
    "Sigmoid": ((), lambda config: Sigmoid()),
    "ReLU": ((), lambda config: ReLU()),
    "Tanh": ((), lambda config: Tanh()),
    "Softmax": ((), lambda config: Softmax()),
}


def save_model(model: Any, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` (``.npz`` is appended if missing); return the path written.

    Raises
    ------
    ValueError
        If a parameter is NaN or infinite (a diverged training run), or a layer
        type cannot be saved.
    """
    from . import __version__

    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if not model.layers:
        raise ValueError("save: the model has no layers, so there is nothing to save; add layers first.")
    layers = []
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(model.layers):
        config = layer.get_config()
        if config.get("type") not in LAYER_BUILDERS:
            raise ValueError(f"save: layer {i} ({layer!r}) is of a type the file format cannot store.")
        layers.append(config)
        for name, value in layer.params.items():
            if not np.isfinite(value).all():
                raise ValueError(
                    f"save: parameter layer{i}.{name} contains NaN or infinity (did training "
                    "diverge? try a smaller learning rate); refusing to save it."
                )
            arrays[f"layer{i}.{name}"] = np.ascontiguousarray(value)
    header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "nnlib_version": __version__, "layers": layers}
    arrays[ARCHITECTURE_KEY] = np.array(json.dumps(header))

    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"save: folder {str(folder)!r} does not exist; create it first.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in the file, read fully (so zip CRC checks run), never unpickled."""
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):  # a .npy file: np.load returned the array itself
            raise ModelFileError(f"{path}: is a single .npy array, not an nnlib model file (.npz).")
        with data:
            return {key: data[key] for key in data.files}
    except (FileNotFoundError, ModelFileError):
        raise
    except Exception as exc:  # zip, zlib, format and pickle-refusal errors alike
        if isinstance(exc, ValueError) and "Object arrays cannot be loaded" in str(exc):
            raise ModelFileError(  # an .npz member that needs unpickling
                f"{path}: holds pickled Python objects. nnlib never unpickles a file (unpickling can "
                "run arbitrary code), and nnlib's own files contain none: this is not an nnlib model file."
            ) from None
        raise ModelFileError(
            f"{path}: cannot be read as an nnlib model file: it is not a valid .npz archive, or it "
            f"is truncated or corrupt ({type(exc).__name__}: {exc})."
        ) from None


def _read_header(path: Path, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    if ARCHITECTURE_KEY not in arrays:
        found = ", ".join(sorted(arrays)[:6]) or "nothing"
        raise ModelFileError(
            f"{path}: is not an nnlib model file: it has no {ARCHITECTURE_KEY!r} entry (found {found}). "
            "Save models with model.save(path)."
        )
    raw = arrays[ARCHITECTURE_KEY]
    if raw.dtype.kind != "U" or raw.ndim != 0:
        raise ModelFileError(f"{path}: the {ARCHITECTURE_KEY!r} entry is not a text string.")
    try:
        header = json.loads(str(raw))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: the architecture is not valid JSON ({exc}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: is not an nnlib model file (format marker missing or wrong).")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{path}: the format version {version!r} is not an integer.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: was written in format version {version} by nnlib {header.get('nnlib_version')}, "
            f"but this nnlib reads version {FORMAT_VERSION} at most; upgrade nnlib."
        )
    if version < 1:
        raise ModelFileError(f"{path}: format version {version} does not exist.")
    layers = header.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ModelFileError(f"{path}: the architecture lists no layers.")
    return layers


def _build_layer(path: Path, i: int, config: Any) -> Layer:
    if not isinstance(config, dict):
        raise ModelFileError(
            f"{path}: layer {i} is a {type(config).__name__} ({config!r}), expected a dict with a 'type' key."
        )
    if not isinstance(config.get("type"), str) or config["type"] not in LAYER_BUILDERS:
        valid = ", ".join(LAYER_BUILDERS)
        raise ModelFileError(f"{path}: layer {i} has unknown type {config.get('type')!r}; known types: {valid}.")
    keys, build = LAYER_BUILDERS[config["type"]]
    if set(config) != {"type", *keys}:
        raise ModelFileError(
            f"{path}: layer {i} ({config['type']}) has keys {sorted(config)}, expected {sorted({'type', *keys})}."
        )
    for key in keys:
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ModelFileError(f"{path}: layer {i} ({config['type']}) has invalid {key} {value!r}.")
    return build(config)


def load_model(path: str | os.PathLike) -> Any:
    """Rebuild the model saved at ``path``: same layers, same parameters, bit for bit.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ModelFileError
        If the file is not a complete, consistent nnlib model file. Nothing is
        returned in that case: there is no half-loaded model.
    """
    from .model import Model

    path = Path(path)
    if not path.exists() and path.suffix != ".npz" and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")  # save("m") wrote m.npz; load("m") finds it
    arrays = _read_arrays(path)
    configs = _read_header(path, arrays)
    layers = [_build_layer(path, i, config) for i, config in enumerate(configs)]
    try:
        model = Model(layers)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the saved layers do not fit together ({exc}).") from None

    expected = model.named_parameters()
    stored = {k: v for k, v in arrays.items() if k != ARCHITECTURE_KEY}
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    if missing or extra:
        detail = "; ".join(
            part for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(extra)}" if extra else "",
            ) if part
        )
        raise ModelFileError(f"{path}: the parameters do not match the architecture ({detail}).")
    for name, target in expected.items():
        value = stored[name]
        if value.shape != target.shape:
            raise ModelFileError(
                f"{path}: parameter {name} has shape {value.shape}, but the architecture needs {target.shape}."
            )
        if value.dtype.kind != "f":
            raise ModelFileError(f"{path}: parameter {name} has dtype {value.dtype}, expected floating point.")
        if not np.isfinite(value).all():
            raise ModelFileError(f"{path}: parameter {name} contains NaN or infinity.")
    dtypes = {stored[name].dtype for name in expected}
    if dtypes == {np.dtype(np.float32)}:
        model.astype(np.float32)  # a float32 model comes back as float32
        expected = model.named_parameters()
    for name, target in expected.items():
        target[...] = stored[name]
    return model
