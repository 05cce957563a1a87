"""Model.save / Model.load: round trips, the file format, atomic saving and every refusal."""

import json
import os
import re
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

from helpers import ARCHITECTURES, binary_data, build, saved_model_parts
from nnlib import SGD, BinaryCrossEntropy, Dense, Model, ModelFileError, ReLU, Sigmoid, Tanh, load_model, save_model
from nnlib.persistence import FORMAT_VERSION


@pytest.fixture
def saved(tmp_path):
    """A saved model, its path, and its arrays and header as plain Python objects."""
    return saved_model_parts(tmp_path)


def write(path, arrays, header=None, *, raw_header=None):
    """Write an .npz of ``arrays`` plus the architecture ``header`` (or a ``raw_header`` array)."""
    extra = {}
    if header is not None or raw_header is not None:
        extra["__architecture__"] = raw_header if raw_header is not None else np.array(json.dumps(header))
    np.savez(path, **arrays, **extra)
    return path


def files_in(folder):
    return sorted(p.name for p in folder.iterdir())


# -- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_round_trip_is_bit_for_bit(name, tmp_path):
    model = build(name, seed=7)
    loaded = Model.load(model.save(tmp_path / f"{name}.npz"))
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in model.layers]
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    X = np.random.default_rng(0).standard_normal((20, 3)) * 5
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for (k1, a), (k2, b) in zip(model.named_parameters().items(), loaded.named_parameters().items()):
        assert k1 == k2 and a.dtype == b.dtype == np.float64
        np.testing.assert_array_equal(a, b)
        assert a is not b


def test_a_trained_model_round_trips_and_trains_on_identically(tmp_path):
    X, y = binary_data(n=20)
    model = build("relu-relu-sigmoid", seed=1)
    model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.3), epochs=20)
    loaded = load_model(save_model(model, tmp_path / "trained"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    h1 = model.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.3), epochs=5, batch_size=4, rng=2)
    h2 = loaded.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.3), epochs=5, batch_size=4, rng=2)
    assert h1.history == h2.history


def test_a_model_with_only_activations_round_trips(tmp_path):
    loaded = Model.load(Model([ReLU(), Tanh()]).save(tmp_path / "acts.npz"))
    assert [repr(layer) for layer in loaded.layers] == ["ReLU()", "Tanh()"]


def test_npz_suffix_is_appended_and_the_path_returned(tmp_path):
    model = build("linear")
    assert model.save(tmp_path / "m") == tmp_path / "m.npz"
    assert model.save(str(tmp_path / "m.v2")) == tmp_path / "m.v2.npz"
    assert model.save(tmp_path / "n.npz") == tmp_path / "n.npz"
    assert files_in(tmp_path) == ["m.npz", "m.v2.npz", "n.npz"]
    Model.load(str(tmp_path / "m.npz"))  # str paths work too


def test_file_is_plain_arrays_with_readable_names(saved):
    model, path, arrays, header = saved
    assert sorted(arrays) == ["layer0.W", "layer0.b", "layer2.W", "layer2.b"]
    for name, value in model.named_parameters().items():
        np.testing.assert_array_equal(arrays[name], value)
    assert header["format"] == "nnlib-model" and header["format_version"] == FORMAT_VERSION == 1
    assert header["layers"] == [{"type": "Dense", "in_features": 3, "out_features": 4}, {"type": "Tanh"},
                                {"type": "Dense", "in_features": 4, "out_features": 1}, {"type": "Sigmoid"}]
    assert isinstance(header["nnlib_version"], str)


def test_saved_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = build("linear").save(tmp_path / "m")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# -- atomic saving -----------------------------------------------------------------------------------
@pytest.mark.parametrize("exception", [RuntimeError("disk full"), KeyboardInterrupt()], ids=repr)
def test_a_failure_while_writing_leaves_the_earlier_file_intact(tmp_path, monkeypatch, exception):
    path = build("linear", seed=1).save(tmp_path / "m.npz")
    before = path.read_bytes()

    def savez_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise exception

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(type(exception)):
        build("tanh-sigmoid", seed=2).save(path)
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["m.npz"]  # no temporary file left behind


def test_a_failure_at_the_final_rename_leaves_the_earlier_file_intact(tmp_path, monkeypatch):
    path = build("linear", seed=1).save(tmp_path / "m.npz")
    before = path.read_bytes()

    def fail(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="rename failed"):
        build("linear", seed=2).save(path)
    assert path.read_bytes() == before and files_in(tmp_path) == ["m.npz"]


_SAVE_KILLED_BY = """
import os, signal, sys
import numpy as np
from nnlib import Dense, Model

path = sys.argv[1]
Model([Dense(3, 1, rng=1)]).save(path)          # the earlier file

real_savez = np.savez
def savez_then_die(file, **arrays):
    file.write(b"PK\\x03\\x04 half an archive")
    file.flush()
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))
    real_savez(file, **arrays)                   # reached only if the signal was survived

np.savez = savez_then_die
Model([Dense(3, 1, rng=2)]).save(path)
print("survived")
"""


@pytest.mark.parametrize("signame, cleaned", [("SIGTERM", True), ("SIGKILL", False)])
def test_a_save_killed_by_a_signal_keeps_the_earlier_file(signame, cleaned, tmp_path):
    """SIGTERM: the temporary file is removed and the process still dies of SIGTERM.
    SIGKILL cannot be caught: its temporary file stays, for the next save to remove."""
    path = tmp_path / "m.npz"
    done = subprocess.run([sys.executable, "-c", _SAVE_KILLED_BY, str(path), signame],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -getattr(signal, signame), done.stderr
    assert "survived" not in done.stdout
    np.testing.assert_array_equal(Model.load(path).layers[0].params["W"], Dense(3, 1, rng=1).params["W"])
    left = [name for name in files_in(tmp_path) if name != "m.npz"]
    assert left == [] if cleaned else len(left) == 1 and left[0].startswith(".m.npz.")


def test_the_next_save_removes_temporary_files_of_dead_processes(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".m.npz.{dead.pid}.abc123.tmp"          # left by a killed save
    running = tmp_path / f".m.npz.{os.getppid()}.def456.tmp"    # another process saving now
    other = tmp_path / f".other.npz.{dead.pid}.ghi789.tmp"      # a save to another file
    for p in (stale, running, other):
        p.write_bytes(b"partial")
    build("linear", seed=1).save(tmp_path / "m.npz")
    assert files_in(tmp_path) == sorted([running.name, other.name, "m.npz"])


def test_a_program_s_own_sigterm_handler_is_left_alone(tmp_path):
    handler = lambda signum, frame: None  # noqa: E731
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        build("linear", seed=1).save(tmp_path / "m.npz")
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    build("linear", seed=1).save(tmp_path / "m.npz")
    assert signal.getsignal(signal.SIGTERM) == previous


def test_saving_a_diverged_model_is_refused(tmp_path):
    model = build("tanh-sigmoid")
    model.layers[2].params["W"][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"layer2\.W contains NaN or infinity .*smaller learning rate"):
        model.save(tmp_path / "m")
    assert files_in(tmp_path) == []


def test_saving_an_empty_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no layers"):
        Model().save(tmp_path / "m")
    assert files_in(tmp_path) == []


def test_saving_into_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build("linear").save(tmp_path / "nowhere" / "m.npz")


# -- refusals -------------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        Model.load(tmp_path / "absent.npz")


def test_truncated_file(saved):
    _, path, _, _ = saved
    data = path.read_bytes()
    for cut in (len(data) - 10, len(data) // 2, 100, 3, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="not a valid .npz archive, or it is truncated or corrupt"):
            Model.load(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(ModelFileError, match="cannot be read as an nnlib model file"):
        Model.load(path)


def test_a_flipped_byte_inside_the_archive_fails_the_crc_check(saved):
    model, path, _, _ = saved
    data = bytearray(path.read_bytes())
    at = data.find(model.layers[0].params["W"].tobytes())
    assert at > 0
    data[at + 3] ^= 0x01  # a weight changes slightly: only the CRC can tell
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"corrupt \(BadZipFile: Bad CRC-32 for file 'layer0\.W\.npy'\)"):
        Model.load(path)


def test_a_npy_file(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.ones((3, 4)))
    with pytest.raises(ModelFileError, match=r"is a single \.npy array, not an nnlib model file \(\.npz\)"):
        Model.load(path)


def test_a_foreign_npz(tmp_path):
    path = write(tmp_path / "foreign.npz", {"a": np.arange(3), "b": np.ones(2)})
    with pytest.raises(ModelFileError, match=r"has no '__architecture__' entry \(found a, b\)"):
        Model.load(path)


class Bomb:
    """Unpickling this creates a directory: evidence that something was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_object_arrays_are_refused_and_never_unpickled(saved, tmp_path):
    _, _, arrays, header = saved
    marker = tmp_path / "unpickled"
    arrays["layer0.W"] = np.array([Bomb(marker)], dtype=object)
    path = write(tmp_path / "pickled.npz", arrays, header)
    with pytest.raises(ModelFileError, match="holds pickled Python objects. nnlib never unpickles"):
        Model.load(path)
    assert not marker.exists()
    # the bomb is real: an unsafe load would have gone off
    with np.load(path, allow_pickle=True) as data:
        data["layer0.W"]
    assert marker.is_dir()


def test_a_pickled_architecture_is_refused(saved, tmp_path):
    _, _, arrays, header = saved
    path = write(tmp_path / "m.npz", arrays, raw_header=np.array(header, dtype=object))
    with pytest.raises(ModelFileError, match="holds pickled Python objects"):
        Model.load(path)


def _without(name):
    def change(arrays, header):
        del arrays[name]
    return change


def _set(key, value):
    def change(arrays, header):
        header[key] = value
    return change


def _edit_layer(i, **config):
    def change(arrays, header):
        header["layers"][i] = config
    return change


def _widen_first_layer(width):
    """Layer 0 made wider, its arrays too: each layer is consistent, but they no longer chain."""
    def change(arrays, header):
        header["layers"][0] = {"type": "Dense", "in_features": 3, "out_features": width}
        arrays["layer0.W"], arrays["layer0.b"] = np.ones((3, width)), np.zeros(width)
    return change


def _set_array(name, value):
    def change(arrays, header):
        arrays[name] = value
    return change


BAD_FILES = {
    "missing parameter": (_without("layer2.b"), r"parameters do not match the architecture \(missing layer2\.b\)"),
    "extra parameter": (_set_array("layer1.W", np.ones((4, 4))), r"\(unexpected layer1\.W\)"),
    "wrong shape": (_set_array("layer0.W", np.ones((4, 3))),
                    r"parameter layer0\.W has shape \(4, 3\), but the architecture needs \(3, 4\)"),
    "integer parameter": (_set_array("layer0.b", np.arange(4)), r"layer0\.b has dtype int64, expected floating"),
    "NaN parameter": (_set_array("layer0.b", np.array([0.0, np.nan, 0.0, 0.0])), r"layer0\.b contains NaN"),
    "newer format": (_set("format_version", FORMAT_VERSION + 1),
                     rf"format version {FORMAT_VERSION + 1} .* reads version {FORMAT_VERSION} at most; upgrade nnlib"),
    "format 0": (_set("format_version", 0), "format version 0 does not exist"),
    "version not int": (_set("format_version", "1"), r"format version '1' is not an integer"),
    "other format": (_set("format", "keras"), r"format marker missing or wrong"),
    "no layers": (_set("layers", []), "the architecture lists no layers"),
    "unknown layer type": (_edit_layer(1, type="LeakyReLU"),
                           r"layer 1 has unknown type 'LeakyReLU'; known types: Dense, Sigmoid, ReLU, Tanh, Softmax"),
    "layer without type": (_edit_layer(1), r"layer 1 has unknown type None; known types"),
    "layer type not a string": (_edit_layer(1, type=["Tanh"]), r"layer 1 has unknown type \['Tanh'\]"),
    "layer not a dict": (_set("layers", [{"type": "Dense", "in_features": 3, "out_features": 4}, "Tanh"]),
                         r"layer 1 is a str \('Tanh'\), expected a dict with a 'type' key"),
    "missing layer key": (_edit_layer(0, type="Dense", in_features=3),
                          r"layer 0 \(Dense\) has keys \['in_features', 'type'\], expected"),
    "bad layer size": (_edit_layer(0, type="Dense", in_features=3, out_features=0), r"invalid out_features 0"),
    "layers do not fit": (_widen_first_layer(5),
                          r"the saved layers do not fit together \(Model.add: Dense\(4 -> 1\) expects 4 input"),
    "header and arrays disagree": (_edit_layer(0, type="Dense", in_features=3, out_features=5),
                                   r"layer0\.W has shape \(3, 4\), but the architecture needs \(3, 5\)"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_inconsistent_files_are_refused(case, saved, tmp_path):
    _, _, arrays, header = saved
    change, message = BAD_FILES[case]
    change(arrays, header)
    path = write(tmp_path / "bad.npz", arrays, header)
    with pytest.raises(ModelFileError, match=message):
        Model.load(path)


@pytest.mark.parametrize("raw, message", [
    (np.array("{not json"), "the architecture is not valid JSON"),
    (np.array(["{}"]), "entry is not a text string"),
    (np.array(3.0), "entry is not a text string"),
    (np.array("[1, 2]"), "format marker missing or wrong"),
])
def test_bad_architecture_entries_are_refused(raw, message, saved, tmp_path):
    _, _, arrays, _ = saved
    with pytest.raises(ModelFileError, match=message):
        Model.load(write(tmp_path / "bad.npz", arrays, raw_header=raw))


def test_model_file_error_is_a_value_error_and_names_the_file(saved):
    _, path, arrays, _ = saved
    write(path, arrays)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        Model.load(path)


def test_load_finds_the_file_that_save_named(saved, tmp_path):
    model = saved[0]
    written = model.save(tmp_path / "net")
    assert written.name == "net.npz"
    X = np.random.default_rng(0).standard_normal((4, model.in_features))
    np.testing.assert_array_equal(Model.load(tmp_path / "net").predict(X), model.predict(X))
