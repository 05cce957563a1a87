"""tools/kernel_check.py: which machines it can simulate, how, and what it reports."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import kernel_check as kc


NUMPY2_DISPATCH = ["X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR"]
NUMPY1_DISPATCH = ["SSSE3", "SSE41", "POPCNT", "SSE42", "AVX", "F16C", "FMA3", "AVX2", "AVX512F",
                   "AVX512CD", "AVX512_KNL", "AVX512_KNM", "AVX512_SKX", "AVX512_CLX", "AVX512_CNL",
                   "AVX512_ICL", "AVX512_SPR"]
AVX2_CPU = ["SSE", "SSE2", "SSE3", "SSSE3", "SSE41", "POPCNT", "SSE42", "AVX", "F16C", "FMA3", "AVX2"]
OPENBLAS = {"internal_api": "openblas", "architecture": "Haswell"}


def native(dispatch=NUMPY2_DISPATCH, features=AVX2_CPU, blas=OPENBLAS):
    return {"numpy": "x", "dispatch": dispatch, "features": features, "blas": blas}


@pytest.mark.parametrize("dispatch, machine, disabled", [
    (NUMPY2_DISPATCH, "SkylakeX", "AVX512_ICL AVX512_SPR"),
    (NUMPY2_DISPATCH, "Haswell", "X86_V4 AVX512_ICL AVX512_SPR"),
    (NUMPY2_DISPATCH, "Prescott", "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"),
    (NUMPY1_DISPATCH, "Sandybridge", "F16C FMA3 AVX2 AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX "
                                     "AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"),
])
def test_numpy_keeps_to_what_the_simulated_cpu_has(dispatch, machine, disabled):
    env = kc.machine_env(kc.MACHINES[machine], native(dispatch))
    assert env["OPENBLAS_CORETYPE"] == kc.MACHINES[machine].coretype
    assert env["NPY_DISABLE_CPU_FEATURES"] == disabled
    assert env["OPENBLAS_NUM_THREADS"] == "1"


def test_what_cannot_be_simulated_says_why(monkeypatch):
    monkeypatch.setattr(kc.platform, "machine", lambda: "x86_64")
    assert kc.why_not(kc.MACHINES["Haswell"], native()) is None
    assert "lacks AVX512F" in kc.why_not(kc.MACHINES["SkylakeX"], native())
    assert "needs OpenBLAS; NumPy here uses mkl" in kc.why_not(
        kc.MACHINES["Haswell"], native(blas={"internal_api": "mkl"}))
    assert "NumPy here uses none" in kc.why_not(kc.MACHINES["Haswell"], native(blas=None))
    monkeypatch.setattr(kc.platform, "machine", lambda: "arm64")
    assert "needs an x86-64 CPU; this one is arm64" in kc.why_not(kc.MACHINES["Prescott"], native())


def notebook(path, cells):
    nb = new_notebook(cells=[new_markdown_cell("# A page")] + cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, path)
    return path


def printed(source, text):
    cell = new_code_cell(source)
    cell.outputs = [new_output("stream", name="stdout", text=text)]
    return cell


def test_outputs_compare_as_nbval_compares_them():
    cell = new_code_cell("")
    cell.outputs = [new_output("stream", name="stdout", text="a 0x7f3a2b1c9d\nb"),
                    new_output("stream", name="stdout", text="c\n"),
                    new_output("display_data", data={"text/plain": "<Figure>", "image/png": "iVBOR"})]
    assert kc.cell_text(cell) == ["[stdout] a 0x7f3a2b1c9d", "[stdout] bc", "[text/plain] <Figure>"]
    assert kc.texts(new_notebook(cells=[cell]))[0][0] == "[stdout] a 0xADDRESS"


def test_a_kernel_dependent_output_is_found(tmp_path, capsys):
    reason = kc.why_not(kc.MACHINES["Haswell"], kc.probe(kc.base_env()))
    if reason:
        pytest.skip(reason)
    which = "import numpy\nfrom threadpoolctl import threadpool_info\nprint(threadpool_info()[0]['architecture'])"
    here = kc.probe(kc.base_env())["blas"]["architecture"]
    steady = notebook(tmp_path / "steady.ipynb", [printed("print(6 * 7)", "42\n")])
    moving = notebook(tmp_path / "moving.ipynb", [new_code_cell("x = 1"), printed(which, f"{here}\n")])
    assert kc.main([str(steady), "--machines", "Haswell", "--jobs", "2"]) == 0
    assert "Every output of 1 notebook(s) is the same on 2 machine(s)." in capsys.readouterr().out
    if here == "Haswell":
        pytest.skip("this CPU gets the Haswell kernel anyway")
    assert kc.main([str(moving), "--machines", "Haswell", "--jobs", "2"]) == 1
    out = capsys.readouterr().out
    assert "moving.ipynb::Cell 1 (import numpy...): differs on 1 of 2 machines" in out
    assert f"-[stdout] {here}\n      +[stdout] Haswell" in out
