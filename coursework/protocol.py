"""What a checker and the class checker say to each other, and the plain data they pass.

*Verdicts.* A checker's verdict on one exercise is a :class:`Verdict`: the
exercise's label, a status, a one-line detail and hint lines. The check
cell prints it (:func:`format_verdict`); the class checker tabulates it.

*Plain data.* The class checker calls a student's answer in a separate,
sandboxed process and judges the result in its own. Values cross that
boundary as JSON built only from numbers, strings, lists and dicts:
:func:`encode` turns arguments and results into it and :func:`decode` turns
it back, building nothing but arrays, numbers, strings, tuples, lists,
dicts, ``np.random.Generator`` objects and ``nnlib`` models and losses
from a fixed list of classes. Decoding never runs code, never unpickles,
and refuses anything too large. A value that is none of these (a student's
own object, a function) arrives as an :class:`Opaque` stand-in that keeps
only its type's name, so that the checker can say what came back.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "PASS", "FAIL", "NOT_DONE", "TAMPERED", "ERROR", "MISSING", "SYNTAX_ERROR", "TIMED_OUT", "NOT_RUN",
    "UNREADABLE", "STATUSES", "Verdict", "format_verdict",
    "Opaque", "ProtocolError", "ExerciseFile", "encode", "decode", "MAX_ELEMENTS",
]

PASS, FAIL, NOT_DONE = "PASS", "FAIL", "NOT DONE YET"
#: Given by the class checker only: the answer tried to change how it is graded.
TAMPERED = "TAMPERED"
#: Given by the class checker only, where no answer could be judged or the answer raised:
ERROR = "ERROR"                 # the answer raised an exception when called
MISSING = "MISSING"             # the notebook defines no function of the answer's name
SYNTAX_ERROR = "SYNTAX ERROR"   # the cell that defines the answer does not parse
TIMED_OUT = "TIMED OUT"         # the notebook ran out of time before it defined the answer
NOT_RUN = "NOT RUN"             # the kernel died before the cell that defines the answer
UNREADABLE = "UNREADABLE"       # the file is not a notebook
STATUSES = (PASS, FAIL, ERROR, NOT_DONE, MISSING, SYNTAX_ERROR, TIMED_OUT, NOT_RUN, TAMPERED, UNREADABLE)

#: Largest array (in elements) and largest file (in bytes) that cross the boundary.
MAX_ELEMENTS = 5_000_000
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 20


@dataclass
class Verdict:
    """One exercise's result: status, a one-line detail, hint lines."""

    label: str
    status: str
    detail: str
    hints: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "status": self.status, "detail": self.detail, "hints": list(self.hints)}


def format_verdict(verdict: Verdict) -> str:
    """The lines a check cell prints: the verdict, then the hints indented."""
    if verdict.status == PASS:
        first = f"{verdict.label}: {verdict.status} ({verdict.detail})"
    else:
        first = f"{verdict.label}: {verdict.status} - {verdict.detail}"
    return "\n".join([first] + ["    " + line for line in verdict.hints])


class ProtocolError(ValueError):
    """Data that does not follow the protocol (malformed, too large, or of a kind it does not carry)."""


class Opaque:
    """Stands in for a value that plain data cannot carry; keeps only the name of its type."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def _opaque(type_name: str) -> Opaque:
    """An :class:`Opaque` whose ``type(value).__name__`` is ``type_name`` (as the checker's messages use it)."""
    name = type_name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,60}", type_name or "") else "object"
    return type(name, (Opaque,), {})(name)


class ExerciseFile(str):
    """A path that a checker hands to an answer: the file there travels with the call.

    A plain ``str`` to the answer. When the answer runs in another process,
    the file at this path (if any) is sent along before the call, and the
    file the answer leaves there is sent back after it.
    """


# -- nnlib objects ---------------------------------------------------------------------------------

def _layer_classes() -> dict[str, type]:
    import nnlib
    return {name: getattr(nnlib, name) for name in ("Dense", "ReLU", "Sigmoid", "Tanh", "Softmax", "Dropout")}


def _loss_classes() -> dict[str, type]:
    import nnlib
    return {name: getattr(nnlib, name) for name in ("MSE", "BinaryCrossEntropy", "SoftmaxCrossEntropy")}


def _encode_array(a: np.ndarray) -> dict[str, Any]:
    if a.dtype.kind not in "biuf" or a.dtype.byteorder == ">":
        return {"$": "opaque", "type": f"ndarray of dtype {a.dtype}"}
    if a.size > MAX_ELEMENTS:
        raise ProtocolError(f"an array of {a.size} elements is larger than {MAX_ELEMENTS}")
    data = a.copy(order="C")
    return {"$": "array", "dtype": data.dtype.str, "shape": list(data.shape),
            "data": base64.b64encode(data.tobytes()).decode("ascii")}


def _decode_array(obj: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(str(obj["dtype"]))
    if dtype.kind not in "biuf" or dtype.itemsize > 16:
        raise ProtocolError(f"arrays of dtype {dtype} are not carried")
    shape = tuple(int(s) for s in obj["shape"])
    if len(shape) > 32 or any(s < 0 for s in shape):
        raise ProtocolError(f"bad array shape {shape}")
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if size > MAX_ELEMENTS:
        raise ProtocolError(f"an array of {size} elements is larger than {MAX_ELEMENTS}")
    raw = base64.b64decode(str(obj["data"]), validate=True)
    if len(raw) != size * dtype.itemsize:
        raise ProtocolError("array data of the wrong length")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _encode_model(model: Any) -> dict[str, Any]:
    layers = []
    for layer in model.layers:
        kind = type(layer).__name__
        entry: dict[str, Any] = {"type": kind}
        if kind == "Dense":
            entry["in"], entry["out"] = int(layer.in_features), int(layer.out_features)
            entry["params"] = {k: _encode_array(np.asarray(v)) for k, v in layer.params.items()}
            entry["grads"] = {k: _encode_array(np.asarray(v)) for k, v in layer.grads.items()}
        elif kind == "Dropout":
            entry["rate"] = float(layer.rate)
        layers.append(entry)
    return {"$": "model", "layers": layers}


def _decode_model(obj: dict[str, Any]) -> Any:
    import nnlib
    classes = _layer_classes()
    layers_in = obj["layers"]
    if not isinstance(layers_in, list) or len(layers_in) > 1000:
        raise ProtocolError("a model's layers must be a list of at most 1000")
    layers = []
    for entry in layers_in:
        kind = str(entry.get("type"))
        if kind not in classes:
            layers.append(_opaque(kind))
            continue
        if kind == "Dense":
            n_in, n_out = int(entry["in"]), int(entry["out"])
            if not (0 < n_in <= 100_000 and 0 < n_out <= 100_000 and n_in * n_out <= MAX_ELEMENTS):
                raise ProtocolError(f"a Dense({n_in}, {n_out}) layer is out of bounds")
            layer = classes["Dense"](n_in, n_out, rng=0)
            for store, key in ((layer.params, "params"), (layer.grads, "grads")):
                for name, value in dict(entry.get(key, {})).items():
                    if name in store:
                        array = _decode_array(value)
                        if array.shape != store[name].shape:
                            raise ProtocolError(f"{key} {name} of shape {array.shape}, expected {store[name].shape}")
                        store[name][...] = array
            layers.append(layer)
        elif kind == "Dropout":
            layers.append(classes["Dropout"](float(entry.get("rate", 0.0))))
        else:
            layers.append(classes[kind]())
    if any(isinstance(layer, Opaque) for layer in layers):
        model = object.__new__(nnlib.Model)   # only for the checker to report the layers it got
        model.layers = layers
        return model
    return nnlib.Model(layers)


# -- encode / decode -------------------------------------------------------------------------------

def encode(value: Any, depth: int = 0) -> Any:
    """Plain JSON-able data for ``value`` (see the module docstring)."""
    if depth > MAX_DEPTH:
        raise ProtocolError("nested too deeply")
    if value is None or isinstance(value, (bool, str)) and not isinstance(value, ExerciseFile):
        return value
    if isinstance(value, ExerciseFile):
        return {"$": "file", "path": str(value)}
    if isinstance(value, bytes):
        if len(value) > MAX_FILE_BYTES:
            raise ProtocolError(f"{len(value)} bytes are more than {MAX_FILE_BYTES}")
        return {"$": "bytes", "data": base64.b64encode(value).decode("ascii")}
    if isinstance(value, int):
        return value if abs(value) < 2 ** 63 else {"$": "opaque", "type": "int"}
    if isinstance(value, float):
        return {"$": "float", "hex": value.hex()}
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            return {"$": "opaque", "type": type(value).__name__}
        return {"$": "scalar", "array": _encode_array(np.asarray(value))}
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, (tuple, list)):
        if len(value) > 100_000:
            raise ProtocolError("a sequence of more than 100000 items")
        return {"$": "tuple" if isinstance(value, tuple) else "list",
                "items": [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value) or len(value) > 10_000:
            return {"$": "opaque", "type": "dict"}
        return {"$": "dict", "items": {k: encode(v, depth + 1) for k, v in value.items()}}
    if isinstance(value, np.random.Generator):
        state = value.bit_generator.state
        if state.get("bit_generator") != "PCG64":
            return {"$": "opaque", "type": "Generator"}
        return {"$": "rng", "state": {"state": str(state["state"]["state"]), "inc": str(state["state"]["inc"]),
                                      "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}}
    type_name = type(value).__name__
    module = type(value).__module__ or ""
    if module.startswith("nnlib"):
        if type_name == "Model" and isinstance(getattr(value, "layers", None), list):
            return _encode_model(value)
        if type_name in ("MSE", "BinaryCrossEntropy", "SoftmaxCrossEntropy"):
            return {"$": "loss", "type": type_name}
    return {"$": "opaque", "type": type_name}


def decode(obj: Any, depth: int = 0) -> Any:
    """The value that :func:`encode` described; raises :class:`ProtocolError` on anything else."""
    if depth > MAX_DEPTH:
        raise ProtocolError("nested too deeply")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if not isinstance(obj, dict) or not isinstance(obj.get("$"), str):
        raise ProtocolError(f"unexpected {type(obj).__name__}")
    kind = obj["$"]
    try:
        if kind == "float":
            return float.fromhex(str(obj["hex"]))
        if kind == "array":
            return _decode_array(obj)
        if kind == "scalar":
            array = _decode_array(obj["array"])
            if array.shape != ():
                raise ProtocolError("a scalar must have shape ()")
            return array[()]
        if kind in ("tuple", "list"):
            items = obj["items"]
            if not isinstance(items, list):
                raise ProtocolError("items must be a list")
            values = [decode(v, depth + 1) for v in items]
            return tuple(values) if kind == "tuple" else values
        if kind == "dict":
            items = obj["items"]
            if not isinstance(items, dict):
                raise ProtocolError("items must be a dict")
            return {str(k): decode(v, depth + 1) for k, v in items.items()}
        if kind == "bytes":
            data = str(obj["data"])
            if len(data) > MAX_FILE_BYTES * 4 // 3 + 4:
                raise ProtocolError("bytes larger than the limit")
            return base64.b64decode(data, validate=True)
        if kind == "file":
            return ExerciseFile(str(obj["path"]))
        if kind == "rng":
            s = obj["state"]
            bit_generator = np.random.PCG64()
            bit_generator.state = {"bit_generator": "PCG64",
                                   "state": {"state": int(str(s["state"])), "inc": int(str(s["inc"]))},
                                   "has_uint32": int(s["has_uint32"]), "uinteger": int(s["uinteger"])}
            return np.random.Generator(bit_generator)
        if kind == "model":
            return _decode_model(obj)
        if kind == "loss":
            classes = _loss_classes()
            name = str(obj["type"])
            if name not in classes:
                raise ProtocolError(f"unknown loss {name}")
            return classes[name]()
        if kind == "opaque":
            return _opaque(str(obj.get("type", "object")))
    except ProtocolError:
        raise
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ProtocolError(f"malformed {kind}: {type(exc).__name__}") from None
    raise ProtocolError(f"unknown kind {kind!r}")
