"""The repository setting (book_ext/repository_setting.py): buttons and setup cells follow it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from book_ext import repository_setting as rs
from helpers import ROOT

REPO = rs.Repository("example-org", "nn-book", "main")


@pytest.mark.parametrize("url, branch, expected", [
    ("", "main", None),
    (None, None, None),
    ("https://github.com/example-org/nn-book", None, REPO),
    ("https://github.com/example-org/nn-book.git", "", REPO),
    ("https://github.com/example-org/nn-book/", "dev", rs.Repository("example-org", "nn-book", "dev")),
])
def test_the_setting_is_read(url, branch, expected):
    assert rs.parse(url, branch) == expected


@pytest.mark.parametrize("url", ["github.com/a/b", "https://gitlab.com/a/b", "https://github.com/a",
                                 "https://github.com/a/b/tree/main", "http://github.com/a/b"])
def test_an_address_binder_and_colab_cannot_use_is_refused(url):
    with pytest.raises(ValueError, match="is not a GitHub repository address such as https://github.com/OWNER/NAME"):
        rs.parse(url, "main")


def test_the_books_own_setting_is_valid():
    rs.read()  # raises on a malformed address


LAUNCH = {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com"}


def test_without_a_repository_every_button_is_off():
    options = rs.buttons({"repository_url": "", "launch_buttons": LAUNCH, "use_repository_button": True})
    assert "launch_buttons" not in options
    assert not any(options[k] for k in ("use_repository_button", "use_issues_button", "use_edit_page_button"))


def test_with_a_repository_the_buttons_are_on():
    options = rs.buttons({"repository_url": "https://github.com/example-org/nn-book.git", "launch_buttons": LAUNCH})
    assert options["launch_buttons"] == LAUNCH
    assert options["repository_url"] == "https://github.com/example-org/nn-book"
    assert options["use_repository_button"] and options["use_issues_button"]


def chapter():
    return new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("import nnlib"),
                               new_code_cell("print(1)")])


def test_the_setup_cell_is_written_moved_kept_and_removed():
    nb = chapter()
    assert rs.setup_problems(nb, None) == []
    assert rs.setup_problems(nb, REPO) == ["no setup cell (id nnlib-setup) that installs nnlib from "
                                           "https://github.com/example-org/nn-book"]
    assert rs.sync_setup_cell(nb, REPO) is True
    assert [c.get("id") for c in nb.cells][1] == rs.SETUP_CELL_ID
    assert 'git+https://github.com/example-org/nn-book@main"' in nb.cells[1].source
    assert nb.cells[1].metadata["tags"] == ["remove-cell"]
    assert rs.setup_problems(nb, REPO) == []
    assert rs.sync_setup_cell(nb, REPO) is False  # a second run changes nothing

    nb.cells.append(nb.cells.pop(1))  # moved below the other code
    assert rs.setup_problems(nb, REPO) == ["the setup cell is cell 3, not the first code cell"]
    assert rs.sync_setup_cell(nb, REPO) is True and rs.setup_problems(nb, REPO) == []

    other = rs.Repository("someone", "else", "main")
    assert rs.setup_problems(nb, other) == ["the setup cell does not install nnlib from "
                                            "https://github.com/someone/else@main"]
    assert rs.setup_problems(nb, None) == ["cell 1 installs nnlib from a repository, but _config.yml names none"]
    assert rs.sync_setup_cell(nb, None) is True
    assert [c.source for c in nb.cells] == [c.source for c in chapter().cells]


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_notebook_has_the_setup_cell_the_setting_asks_for(path):
    problems = rs.setup_problems(nbformat.read(path, as_version=4), rs.read())
    assert not problems, f"{path.name}: {problems}; run `make notebooks`"


def test_a_book_with_a_repository_shows_buttons_that_lead_to_it(tmp_path):
    """A one-chapter book built with the setting set (the book's own build shows the setting as it is)."""
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    config, n = re.subn(r'(?m)^  url: .*$', "  url: https://github.com/example-org/nn-book", config)
    assert n == 1
    (tmp_path / "_config.yml").write_text(config, encoding="utf-8")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/one\n")
    (tmp_path / "intro.md").write_text("# A book\n")
    (tmp_path / "chapters").mkdir()
    nb = chapter()
    rs.sync_setup_cell(nb, REPO)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, tmp_path / "chapters" / "one.ipynb")
    for folder in ("book_ext", "book_static"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "_vendor" / "static").mkdir(parents=True)
    build = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(tmp_path), "-W", "-n"],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    html = (tmp_path / "_build" / "html" / "chapters" / "one.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="(https://[^"]+)"', html))
    assert links == {
        "https://github.com/example-org/nn-book",
        "https://mybinder.org/v2/gh/example-org/nn-book/main?urlpath=lab/tree/chapters/one.ipynb",
        "https://colab.research.google.com/github/example-org/nn-book/blob/main/chapters/one.ipynb",
        "https://github.com/example-org/nn-book/issues/new?title=Issue%20on%20page%20%2Fchapters/one.html"
        "&body=Your%20issue%20content%20here.",
    }
    assert "Where nnlib is not installed" not in html and "%pip install" not in html  # the setup cell is hidden


def test_the_book_build_skips_every_folder_git_ignores():
    """A git-ignored folder (a virtual environment, nbgrader's, mutmut's copies) holds pages of
    other projects: the strict book build must not read them, or a second build fails."""
    import fnmatch

    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    line = next(line for line in config.splitlines() if line.startswith("exclude_patterns:"))
    patterns = [p.strip().strip('"') for p in line.split("[", 1)[1].rsplit("]", 1)[0].split(",")]
    ignored = [entry.strip().rstrip("/") for entry in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
               if entry.strip().endswith("/") and not entry.startswith("#")]
    assert ".venv-nbgrader" in ignored
    # folders of Python's own bytecode and build metadata hold no pages
    folders = [name for name in ignored if name not in ("__pycache__", "*.egg-info")]
    def excluded(name):
        return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(f"sub/{name}", p) for p in patterns)

    assert [name for name in folders if not excluded(name)] == []
