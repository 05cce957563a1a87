"""Saving and loading a stack of layers as one ``.npz`` file.

The file holds, as plain arrays that ``numpy.load(path, allow_pickle=False)``
reads:

* ``__architecture__``: a JSON string with the format name, the format version,
  the nnlib version that wrote it and every layer's configuration, activations
  included, in order;
* one array per parameter, named ``layer{i}.{name}`` (for example
  ``layer0.W``, ``layer0.b``, ``layer2.W``) after the layer's index in the model.

This module reads and writes lists of layers; :meth:`nnlib.Model.save` and
:meth:`nnlib.Model.load` (and their aliases :func:`nnlib.save_model` and
:func:`nnlib.load_model`) turn them into a model.

Saving writes to a temporary file in the same folder and renames it over the
target only once it is complete, so a crash mid-save never leaves a broken
file behind and never destroys an earlier one. A temporary file left by a save
that was killed outright is removed by the next save to the same target.

Loading never unpickles anything and trusts nothing the file says until it
has been checked, *before* anything is read into memory: the zip directory
(number of members, duplicate names, declared sizes against the file's real
size), the architecture (its size, nesting, number of layers, every layer's
configuration), and each array's dtype and shape against what the
architecture promises. Memory use is therefore bounded by the size of the
model the file really contains. Any problem raises :class:`ModelFileError`
with a message that says what is wrong; there is never a half-loaded model.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import tempfile
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .activations import ReLU, Sigmoid, Softmax, Tanh
from .layers import Dense, Dropout, Layer

FORMAT_NAME = "nnlib-model"
FORMAT_VERSION = 1
ARCHITECTURE_KEY = "__architecture__"

# Bounds on what a file may declare, checked before anything is read.
MAX_LAYERS = 1_000  # layers in one model
MAX_ARCHITECTURE_CHARS = 1 << 20  # characters of architecture JSON (1 Mi)
MAX_NESTING = 8  # depth of JSON brackets; nnlib writes 3
MAX_NPY_HEADER = 10_000  # bytes of one array's .npy header (NumPy's own default)
# A compressed member may expand to at most this much (nnlib never compresses; a
# stored member's size is bounded by the file's own size instead).
MAX_INFLATED_BYTES = 1 << 28  # 256 MiB
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data more than this


class ModelFileError(ValueError):
    """A file that cannot be loaded as an nnlib model; the message says why."""


def _build_dense(config: dict[str, Any]) -> Dense:
    return Dense(config["in_features"], config["out_features"], init="zeros",
                 weight_decay=config.get("weight_decay", 0.0))


# type name -> (required config keys besides "type", optional keys, constructor).
# Required keys are positive integers (sizes); the optional ones are numbers in
# the ranges of _OPTIONAL_RANGES.
LAYER_BUILDERS: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any]] = {
    "Dense": (("in_features", "out_features"), ("weight_decay",), _build_dense),
    "Sigmoid": ((), (), lambda config: Sigmoid()),
    "ReLU": ((), (), lambda config: ReLU()),
    "Tanh": ((), (), lambda config: Tanh()),
    "Softmax": ((), (), lambda config: Softmax()),
    "Dropout": ((), ("rate",), lambda config: Dropout(config.get("rate", 0.0))),
}
# key -> (lowest, highest, highest included)
_OPTIONAL_RANGES = {"weight_decay": (0.0, math.inf, False), "rate": (0.0, 1.0, False)}


def _npz_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


# -- saving ---------------------------------------------------------------------------------
def save_layers(layers: Sequence[Layer], path: str | os.PathLike) -> Path:
    """Write ``layers`` and their parameters to ``path`` (``.npz`` is appended if missing).

    Returns the path written.

    Raises
    ------
    ValueError
        If there are no layers, a parameter is NaN or infinite (a diverged
        training run), or a layer type cannot be saved.
    FileNotFoundError
        If the folder does not exist.
    """
    from . import __version__

    path = _npz_path(path)
    if not layers:
        raise ValueError("save: the model has no layers, so there is nothing to save; add layers first.")
    configs = []
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(layers):
        config = layer.get_config()
        if config.get("type") not in LAYER_BUILDERS:
            raise ValueError(f"save: layer {i} ({layer!r}) is of a type the file format cannot store.")
        configs.append(config)
        for name, value in layer.params.items():
            if not np.isfinite(value).all():
                raise ValueError(
                    f"save: parameter layer{i}.{name} contains NaN or infinity (did training "
                    "diverge? try a smaller learning rate); refusing to save it."
                )
            arrays[f"layer{i}.{name}"] = np.ascontiguousarray(value)
    header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "nnlib_version": __version__, "layers": configs}
    arrays[ARCHITECTURE_KEY] = np.array(json.dumps(header))

    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"save: folder {str(folder)!r} does not exist; create it first.")
    _remove_stale_temporaries(path)
    # The temporary file's name carries this process's id, so that a later save
    # can tell a file left by a killed process from one another process is writing.
    with _terminate_as_exception():
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
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


class _Terminated(BaseException):
    """SIGTERM arrived during a save: unwind (removing the temporary file), then terminate."""


@contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """Turn SIGTERM into an exception while writing, so the temporary file is removed.

    Only where Python allows it (the main thread) and only if SIGTERM has its
    default action (terminate): a program's own handler is left alone. After
    cleaning up, the process is terminated by SIGTERM as it would have been.
    (SIGKILL cannot be caught; the next save removes what it leaves.)
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files of earlier saves to ``path`` whose process no longer runs."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)\.[^.]+\.tmp")
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m is None or _process_alive(int(m.group(1))):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            pass


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be saving to the same target
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or cannot tell: leave the file alone
    return True


# -- loading --------------------------------------------------------------------------------
class _Member:
    """One array in the archive, known from its zip entry and its .npy header only."""

    def __init__(self, info: zipfile.ZipInfo, dtype: np.dtype, shape: tuple[int, ...], fortran: bool, offset: int):
        self.info, self.dtype, self.shape, self.fortran, self.offset = info, dtype, shape, fortran, offset

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _corrupt(path: Path, exc: BaseException) -> ModelFileError:
    return ModelFileError(
        f"{path}: cannot be read as an nnlib model file: it is not a valid .npz archive, or it "
        f"is truncated or corrupt ({type(exc).__name__}: {exc})."
    )


def _open_archive(path: Path) -> zipfile.ZipFile:
    with open(path, "rb") as fh:
        if fh.read(6) == b"\x93NUMPY":
            raise ModelFileError(f"{path}: is a single .npy array, not an nnlib model file (.npz).")
    try:
        return zipfile.ZipFile(path)
    except Exception as exc:  # zipfile raises many kinds of error on a damaged directory
        raise _corrupt(path, exc) from None


def _check_directory(path: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Members by array name, after checking what the zip directory declares."""
    infos = archive.infolist()
    if len(infos) > 2 * MAX_LAYERS + 1:
        raise ModelFileError(
            f"{path}: holds {len(infos):,} entries; an nnlib model file has at most "
            f"{2 * MAX_LAYERS + 1:,} (one architecture and two arrays per layer, {MAX_LAYERS:,} layers at most)."
        )
    file_size = path.stat().st_size
    inflated = 0
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if not name.endswith(".npy"):
            raise ModelFileError(f"{path}: holds {name!r}, which is not a .npy array; this is not an nnlib model file.")
        key = name[: -len(".npy")]
        if key in members:
            raise ModelFileError(
                f"{path}: holds two entries named {name!r}; a model file names each array once, "
                "so this file was not written by nnlib (or was altered)."
            )
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size or info.header_offset + info.compress_size > file_size:
                raise ModelFileError(
                    f"{path}: entry {name!r} declares {info.file_size:,} bytes, more than the file holds "
                    f"({file_size:,} bytes); the file is truncated or corrupt."
                )
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            inflated += info.file_size
            if info.file_size > _DEFLATE_MAX_RATIO * max(info.compress_size, 1) or inflated > MAX_INFLATED_BYTES:
                raise ModelFileError(
                    f"{path}: compressed entry {name!r} declares {info.file_size:,} bytes once expanded, more "
                    f"than its {info.compress_size:,} compressed bytes can hold or than nnlib expands "
                    f"({MAX_INFLATED_BYTES:,}); nnlib never compresses its files: re-save the model with model.save(path)."
                )
        else:
            raise ModelFileError(
                f"{path}: entry {name!r} uses zip compression method {info.compress_type}, which nnlib does "
                "not read; re-save the model with model.save(path)."
            )
        members[key] = info
    return members


def _read_npy_header(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Member:
    """The dtype and shape of one member, from its .npy header (a few hundred bytes at most)."""
    try:
        with archive.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=MAX_NPY_HEADER)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=MAX_NPY_HEADER)
            else:
                raise ValueError(f"unknown .npy format version {version}")
            offset = fh.tell()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, SyntaxError, TypeError, RuntimeError,
            NotImplementedError, RecursionError) as exc:
        raise _corrupt(path, exc) from None
    if dtype.hasobject:
        raise ModelFileError(  # an .npz member that needs unpickling
            f"{path}: holds pickled Python objects. nnlib never unpickles a file (unpickling can "
            "run arbitrary code), and nnlib's own files contain none: this is not an nnlib model file."
        )
    member = _Member(info, dtype, tuple(shape), fortran, offset)
    if offset + member.nbytes != info.file_size:
        raise ModelFileError(
            f"{path}: entry {info.filename!r} declares an array of shape {member.shape} and dtype {dtype} "
            f"({member.nbytes:,} bytes) but holds {max(info.file_size - offset, 0):,} bytes of data; "
            "the file is corrupt."
        )
    return member


def _read_data(path: Path, archive: zipfile.ZipFile, member: _Member) -> np.ndarray:
    """The member's array, read to its end so that the zip checksum (CRC-32) is verified."""
    try:
        with archive.open(member.info) as fh:
            fh.seek(member.offset)
            data = fh.read(member.nbytes)
            if len(data) != member.nbytes or fh.read(1):
                raise zipfile.BadZipFile(f"wrong data length for {member.info.filename!r}")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise _corrupt(path, exc) from None
    order = "F" if member.fortran else "C"
    return np.frombuffer(data, dtype=member.dtype).reshape(member.shape, order=order)


def _json_depth(text: str) -> int:
    """How deeply the brackets of a JSON text nest (strings skipped), without parsing it."""
    depth = deepest = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        ch = token.group()
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _read_architecture(path: Path, archive: zipfile.ZipFile, members: dict[str, _Member]) -> list[Any]:
    if ARCHITECTURE_KEY not in members:
        found = ", ".join(sorted(members)[:6]) or "nothing"
        raise ModelFileError(
            f"{path}: is not an nnlib model file: it has no {ARCHITECTURE_KEY!r} entry (found {found}). "
            "Save models with model.save(path)."
        )
    member = members[ARCHITECTURE_KEY]
    if member.dtype.kind != "U" or member.shape != ():
        raise ModelFileError(f"{path}: the {ARCHITECTURE_KEY!r} entry is not a text string.")
    if member.dtype.itemsize > 4 * MAX_ARCHITECTURE_CHARS:
        raise ModelFileError(
            f"{path}: the architecture is {member.dtype.itemsize // 4:,} characters long; nnlib reads "
            f"{MAX_ARCHITECTURE_CHARS:,} at most (its own files need a few hundred per layer)."
        )
    text = str(_read_data(path, archive, member)[()])
    if _json_depth(text) > MAX_NESTING:
        raise ModelFileError(
            f"{path}: the architecture nests more than {MAX_NESTING} levels deep; nnlib's own files nest 3."
        )
    try:
        header = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
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
    if len(layers) > MAX_LAYERS:
        raise ModelFileError(f"{path}: the architecture lists {len(layers):,} layers; nnlib loads {MAX_LAYERS:,} at most.")
    return layers


def _check_config(path: Path, i: int, config: Any) -> None:
    if not isinstance(config, dict):
        raise ModelFileError(
            f"{path}: layer {i} is a {type(config).__name__} ({config!r:.80}), expected a dict with a 'type' key."
        )
    if not isinstance(config.get("type"), str) or config["type"] not in LAYER_BUILDERS:
        valid = ", ".join(LAYER_BUILDERS)
        raise ModelFileError(f"{path}: layer {i} has unknown type {config.get('type')!r:.80}; known types: {valid}.")
    keys, optional, _ = LAYER_BUILDERS[config["type"]]
    if not {"type", *keys} <= set(config) <= {"type", *keys, *optional}:
        expected = sorted({"type", *keys}) + [f"{key} (optional)" for key in optional]
        raise ModelFileError(
            f"{path}: layer {i} ({config['type']}) has keys {sorted(config)!r:.200}, expected {expected}."
        )
    for key in keys:
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ModelFileError(f"{path}: layer {i} ({config['type']}) has invalid {key} {value!r:.80}.")
    for key in optional:
        if key not in config:
            continue
        value, (low, high, high_included) = config[key], _OPTIONAL_RANGES[key]
        inside = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and low <= value and (value <= high if high_included else value < high)
        if not inside:
            raise ModelFileError(f"{path}: layer {i} ({config['type']}) has invalid {key} {value!r:.80}.")


def _parameter_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The shapes of a layer's parameters, from its configuration alone (nothing allocated)."""
    if config["type"] == "Dense":
        return {"W": (config["in_features"], config["out_features"]), "b": (config["out_features"],)}
    return {}


def load_layers(path: str | os.PathLike) -> list[Layer]:
    """The layers saved at ``path``, with their parameters, bit for bit.

    ``path`` without ``.npz`` also finds the file ``save_layers`` wrote.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ModelFileError
        If the file is not a complete, consistent nnlib model file, or declares
        more than nnlib loads (see the ``MAX_*`` bounds of this module).
    """
    path = Path(path)
    if not path.exists() and _npz_path(path).exists():
        path = _npz_path(path)  # save("m") wrote m.npz; load("m") finds it
    if not path.is_file():
        if path.exists():
            raise ModelFileError(f"{path}: is a folder, not a model file.")
        raise FileNotFoundError(f"load: no file at {str(path)!r}.")
    with _open_archive(path) as archive:
        arrays = {key: _read_npy_header(path, archive, info) for key, info in _check_directory(path, archive).items()}
        configs = _read_architecture(path, archive, arrays)
        for i, config in enumerate(configs):
            _check_config(path, i, config)

        expected = {
            f"layer{i}.{name}": shape
            for i, config in enumerate(configs)
            for name, shape in _parameter_shapes(config).items()
        }
        stored = {k: v for k, v in arrays.items() if k != ARCHITECTURE_KEY}
        missing = sorted(set(expected) - set(stored))
        extra = sorted(set(stored) - set(expected))
        if missing or extra:
            detail = "; ".join(
                part for part in (
                    f"missing {', '.join(missing[:6])}" + (", ..." if len(missing) > 6 else "") if missing else "",
                    f"unexpected {', '.join(extra[:6])}" + (", ..." if len(extra) > 6 else "") if extra else "",
                ) if part
            )
            raise ModelFileError(f"{path}: the parameters do not match the architecture ({detail}).")
        for name, shape in expected.items():
            member = stored[name]
            if member.shape != shape:
                raise ModelFileError(
                    f"{path}: parameter {name} has shape {member.shape}, but the architecture needs {shape}."
                )
            if member.dtype.kind != "f" or member.dtype.itemsize not in (4, 8):
                raise ModelFileError(f"{path}: parameter {name} has dtype {member.dtype}, expected floating point (float32 or float64).")
        float32 = {stored[name].dtype.itemsize for name in expected} == {4}

        # Everything the file declares fits: only now is memory allocated.
        layers = []
        for i, config in enumerate(configs):
            layer = LAYER_BUILDERS[config["type"]][2](config)
            if float32:
                layer._set_dtype(np.float32)  # a float32 model comes back as float32
            for key, target in layer.params.items():
                value = _read_data(path, archive, stored[f"layer{i}.{key}"])
                if not np.isfinite(value).all():
                    raise ModelFileError(f"{path}: parameter layer{i}.{key} contains NaN or infinity.")
                target[...] = value
            layers.append(layer)
    return layers
