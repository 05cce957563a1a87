"""The lists of requirements: pyproject.toml is the one place they are written.

requirements.txt installs nnlib with pyproject.toml's groups; binder/requirements.txt
and the student edition's list are written from them (tools/requirement_lists.py).
These tests fail when a list drifts: a file out of date, a package with two
ranges, a group requirements.txt forgets, a notebook import no group provides.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib

import nbformat

from helpers import ROOT
from tools import requirement_lists as rl

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
GROUPS = {"nnlib": PROJECT["dependencies"], **PROJECT["optional-dependencies"]}
# Import names that differ from the name of the package that provides them.
PROVIDED_BY = {"sklearn": "scikit-learn"}


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_each_package_has_one_range():
    ranges = {}
    for group, requirements in GROUPS.items():
        for requirement in requirements:
            ranges.setdefault(rl.name_of(requirement), set()).add(requirement.replace(" ", ""))
    assert {name: r for name, r in ranges.items() if len(r) > 1} == {}
    assert all(re.search(r">=.*,<", r) for rs in ranges.values() for r in rs), "a range, not a pin"


def test_requirements_txt_installs_nnlib_with_every_group():
    (line,) = lines((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    m = re.fullmatch(r"-e \.\[([a-z,]+)\]", line)
    assert m, f"requirements.txt should be one line, -e .[groups], not {line!r}"
    installed = {rl.name_of(r) for group in ["nnlib", *m.group(1).split(",")] for r in GROUPS[group]}
    # Groups that one make target installs for itself, not everyone.
    on_demand = {"mutation", "nbgrader"}  # make mutation; make test's .venv-nbgrader
    everything = {rl.name_of(r) for group, requirements in GROUPS.items() if group not in on_demand for r in requirements}
    assert everything - installed == set()
    assert on_demand <= set(GROUPS) and not on_demand & set(m.group(1).split(","))


def test_binder_requirements_are_up_to_date():
    assert rl.main(["--check"]) == 0, "run `python tools/requirement_lists.py`"
    text = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert lines(text) == GROUPS["nnlib"] + GROUPS["notebooks"]


def test_student_requirements_are_the_notebooks_and_lab_groups():
    assert lines(rl.student_requirements()) == GROUPS["nnlib"] + GROUPS["notebooks"] + GROUPS["lab"]
    names = [rl.name_of(r) for r in lines(rl.student_requirements())]
    assert names == ["numpy", "scikit-learn", "matplotlib", "ipykernel", "jupyterlab", "jupyterlab-myst"]


def test_the_notebooks_group_provides_every_notebook_import():
    provided = {rl.name_of(r) for r in GROUPS["nnlib"] + GROUPS["notebooks"]}
    imported = set()
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    imported.add(node.module.split(".")[0])
    # nnlib and coursework are this project's own packages (installed with it)
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name not in ("nnlib", "coursework")}
    assert {"numpy", "matplotlib", "sklearn"} <= third_party
    assert {PROVIDED_BY.get(name, name) for name in third_party} - provided == set()


def test_name_of_normalizes():
    assert rl.name_of("Scikit_Learn>=1.4,<2") == "scikit-learn"
    assert rl.name_of("jupyter-book >=1.0.4") == "jupyter-book"
