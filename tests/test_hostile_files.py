"""Loading files made to hurt: every refusal is a ModelFileError, in bounded memory.

Each test builds a small file that declares much more than it holds (a huge
layer, a zip bomb, a deep JSON nesting, 200,000 layers, duplicate names, ...)
and checks that loading refuses it, saying what is wrong, while allocating
at most a few megabytes (measured with tracemalloc, which sees NumPy's arrays).
"""

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from helpers import saved_model_parts
from nnlib import Model, ModelFileError
from nnlib import persistence

LIMIT = 8 << 20  # bytes a refusal may allocate at peak


@pytest.fixture
def good(tmp_path):
    """A saved model's arrays and header, to be altered."""
    return saved_model_parts(tmp_path)[2:]


def architecture(header):
    return np.array(json.dumps(header))


def refused(path, message):
    """Load ``path``; check the refusal's message and the peak memory it took."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=message) as info:
            Model.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < LIMIT, f"refusing {path.name} allocated {peak:,} bytes"
    assert str(path) in str(info.value)
    return info.value


def test_a_small_file_declaring_a_huge_layer_is_refused_before_allocating(good, tmp_path):
    arrays, header = good
    header["layers"][0] = {"type": "Dense", "in_features": 100_000, "out_features": 100_000}
    path = tmp_path / "huge.npz"
    np.savez(path, **arrays, __architecture__=architecture(header))
    assert path.stat().st_size < 4_000
    refused(path, r"layer0\.W has shape \(3, 4\), but the architecture needs \(100000, 100000\)")


def test_an_array_header_declaring_a_huge_shape_is_refused(good, tmp_path):
    """A member whose .npy header says (99999, 99999) but which holds 96 bytes of data."""
    arrays, header = good
    header["layers"][0] = {"type": "Dense", "in_features": 99_999, "out_features": 99_999}
    path = tmp_path / "lying-member.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in {**arrays, "__architecture__": architecture(header)}.items():
            if name == "layer0.W":
                npy = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    npy, {"descr": "<f8", "fortran_order": False, "shape": (99_999, 99_999)})
                archive.writestr("layer0.W.npy", npy.getvalue() + value.tobytes())
            else:
                with archive.open(name + ".npy", "w") as fh:
                    np.lib.format.write_array(fh, value)
    refused(path, r"'layer0\.W\.npy' declares an array of shape \(99999, 99999\) and dtype float64 "
                  r"\(79,998,400,008 bytes\) but holds 96 bytes")


def test_a_stored_entry_declaring_more_bytes_than_the_file_holds(good, tmp_path):
    arrays, header = good
    path = tmp_path / "directory.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in {**arrays, "__architecture__": architecture(header)}.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, value)
        # The central directory is written at close: make one entry claim 4 GB.
        info = archive.getinfo("layer0.W.npy")
        info.file_size = info.compress_size = 4 << 30
    refused(path, r"entry 'layer0\.W\.npy' declares 4,294,967,296 bytes, more than the file holds")


def test_a_zip_bomb_is_refused(good, tmp_path, monkeypatch):
    """A compressed member that would expand beyond the bound (lowered here to 1 MiB)."""
    monkeypatch.setattr(persistence, "MAX_INFLATED_BYTES", 1 << 20)
    arrays, header = good
    header["layers"][0] = {"type": "Dense", "in_features": 3, "out_features": 100_000}
    arrays["layer0.W"], arrays["layer0.b"] = np.zeros((3, 100_000)), np.zeros(100_000)
    header["layers"][2]["in_features"] = 100_000
    arrays["layer2.W"] = np.zeros((100_000, 1))
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, **arrays, __architecture__=architecture(header))
    assert path.stat().st_size < 10_000  # 4 MB of zeros compress to almost nothing
    refused(path, r"compressed entry '.*' declares [\d,]+ bytes once expanded.*re-save the model")


def test_a_compressed_file_within_the_bound_loads(good, tmp_path):
    arrays, header = good
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, **arrays, __architecture__=architecture(header))
    model = Model.load(path)
    np.testing.assert_array_equal(model.layers[0].params["W"], arrays["layer0.W"])


def test_deep_json_nesting_is_refused_without_recursion_error(good, tmp_path):
    arrays, _ = good
    text = '{"format": "nnlib-model", "format_version": 1, "layers": ' + "[" * 200_000 + "]" * 200_000 + "}"
    path = tmp_path / "deep.npz"
    np.savez(path, **arrays, __architecture__=np.array(text))
    refused(path, "nests more than 8 levels deep")


@pytest.mark.parametrize("n, message", [
    (2_000, "lists 2,004 layers; nnlib loads 1,000 at most"),
    (200_000, r"the architecture is 3,600,\d+ characters long; nnlib reads 1,048,576 at most"),
])
def test_too_many_layers_are_refused(n, message, good, tmp_path):
    arrays, header = good
    header["layers"] = header["layers"] + [{"type": "Tanh"}] * n
    path = tmp_path / "long.npz"
    np.savez(path, **arrays, __architecture__=architecture(header))
    refused(path, message)


def test_an_overlong_architecture_is_refused(good, tmp_path):
    arrays, header = good
    header["comment"] = "x" * (1 << 20)
    path = tmp_path / "long-text.npz"
    np.savez(path, **arrays, __architecture__=architecture(header))
    with pytest.raises(ModelFileError, match=r"the architecture is 1,048,[\d]+ characters long"):
        Model.load(path)


def test_duplicate_member_names_are_refused(good, tmp_path):
    arrays, header = good
    path = tmp_path / "twice.npz"
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "w") as archive:
            for name, value in {**arrays, "layer0.b": np.ones(4), "__architecture__": architecture(header)}.items():
                with archive.open(name + ".npy", "w") as fh:
                    np.lib.format.write_array(fh, value)
            with archive.open("layer0.b.npy", "w") as fh:  # the same name again, other values
                np.lib.format.write_array(fh, np.full(4, 7.0))
    refused(path, "holds two entries named 'layer0.b.npy'")


def test_too_many_entries_are_refused(good, tmp_path):
    arrays, header = good
    path = tmp_path / "crowded.npz"
    np.savez(path, **arrays, **{f"extra{i}": np.zeros(1) for i in range(2_100)}, __architecture__=architecture(header))
    refused(path, "holds 2,105 entries; an nnlib model file has at most 2,001")


def test_a_member_that_is_not_an_array_is_refused(good, tmp_path):
    arrays, header = good
    path = tmp_path / "script.npz"
    np.savez(path, **arrays, __architecture__=architecture(header))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("run_me.py", "print('hello')")
    refused(path, "holds 'run_me.py', which is not a .npy array")


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(ModelFileError, match="is a folder"):
        Model.load(tmp_path / "folder.npz")


def test_exactly_the_layer_bound_loads(good, tmp_path):
    arrays, header = good
    header["layers"] = header["layers"] + [{"type": "Tanh"}] * (persistence.MAX_LAYERS - len(header["layers"]))
    path = tmp_path / "at-the-bound.npz"
    np.savez(path, **arrays, __architecture__=architecture(header))
    assert len(Model.load(path).layers) == persistence.MAX_LAYERS
    header["layers"].append({"type": "Tanh"})
    np.savez(path, **arrays, __architecture__=architecture(header))
    refused(path, "lists 1,001 layers; nnlib loads 1,000 at most")
