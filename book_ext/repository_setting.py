"""The book's repository address: one setting, and everything that follows from it.

The setting is ``repository: url:`` in _config.yml (with ``branch:``). While it
is empty the book shows no repository, issue, Binder or Colab button: none
that could lead to somebody else's repository. Once it is set to the book's
GitHub repository (``https://github.com/OWNER/NAME``):

* the book shows all four buttons on every notebook page (this module is a
  Sphinx extension that switches them on at build time);
* every notebook starts with a setup cell, hidden in the book, that installs
  ``nnlib`` from that repository where it is not importable (on Colab, or a
  downloaded notebook) and does nothing where it is (a clone, Binder, whose
  binder/postBuild installs it). `make notebooks` writes that cell from the
  setting (tools/run_notebooks.py), and the tests check that every notebook
  has the cell the setting asks for, and the built pages the buttons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9-]+)/([A-Za-z0-9._-]+?)(?:\.git)?/?")
SETUP_CELL_ID = "nnlib-setup"
SETUP_TAGS = ["remove-cell"]  # hidden in the book; the notebook that is downloaded or launched has it


@dataclass(frozen=True)
class Repository:
    owner: str
    name: str
    branch: str

    @property
    def url(self) -> str:
        return f"https://github.com/{self.owner}/{self.name}"

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"


def parse(url: str | None, branch: str | None) -> Repository | None:
    """The repository ``url`` names, None if it is empty; a clear error if it is not a GitHub address."""
    url = (url or "").strip()
    if not url:
        return None
    match = GITHUB.fullmatch(url)
    if not match:
        raise ValueError(f"_config.yml: repository url {url!r} is not a GitHub repository address such as "
                         "https://github.com/OWNER/NAME (Binder and Colab launch from GitHub); leave it "
                         "empty for a book without repository and launch buttons")
    return Repository(match[1], match[2], (branch or "main").strip() or "main")


def read(config: Path = ROOT / "_config.yml") -> Repository | None:
    """The repository that _config.yml names, or None while it names none."""
    import yaml

    repo = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("repository") or {}
    return parse(repo.get("url"), repo.get("branch"))


# ----------------------------------------------------------------------------- the setup cell


def setup_source(repo: Repository) -> str:
    return (
        "# Where nnlib is not installed (Colab, a downloaded notebook), install it from the book's\n"
        "# repository; in a clone of the repository or on Binder this does nothing.\n"
        "try:\n"
        "    import nnlib\n"
        "except ModuleNotFoundError:\n"
        f'    %pip install --quiet "nnlib @ git+{repo.url}@{repo.branch}"'
    )


def setup_problems(nb, repo: Repository | None) -> list[str]:
    """How a notebook's setup cell differs from what the setting asks for (empty: it is right)."""
    found = [i for i, c in enumerate(nb.cells) if c.get("id") == SETUP_CELL_ID]
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)
    if repo is None:
        return [f"cell {i} installs nnlib from a repository, but _config.yml names none" for i in found]
    if not found:
        return [f"no setup cell (id {SETUP_CELL_ID}) that installs nnlib from {repo.url}"]
    cell = nb.cells[found[0]]
    problems = []
    if found[0] != first_code:
        problems.append(f"the setup cell is cell {found[0]}, not the first code cell")
    if cell.source != setup_source(repo):
        problems.append(f"the setup cell does not install nnlib from {repo.url}@{repo.branch}")
    if cell.metadata.get("tags") != SETUP_TAGS:
        problems.append(f"the setup cell's tags are {cell.metadata.get('tags')}, not {SETUP_TAGS}")
    return problems


def sync_setup_cell(nb, repo: Repository | None) -> bool:
    """Give ``nb`` the setup cell the setting asks for (none while it names no repository).

    Returns whether the notebook changed.
    """
    from nbformat.v4 import new_code_cell

    def shape(cells):
        return [(c.get("id"), c.source, c.metadata.get("tags")) for c in cells]

    before = shape(nb.cells)
    cells = [c for c in nb.cells if c.get("id") != SETUP_CELL_ID]
    if repo is not None:
        cell = new_code_cell(setup_source(repo), id=SETUP_CELL_ID)
        cell.metadata["tags"] = list(SETUP_TAGS)
        first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
        cells.insert(first_code, cell)
    if shape(cells) == before:
        return False
    nb.cells = cells
    return True


# ----------------------------------------------------------------------------- Sphinx


def buttons(theme_options: dict) -> dict:
    """The theme options with the repository buttons on and launch buttons kept, or all of them off."""
    options = dict(theme_options)
    repo = parse(options.get("repository_url"), options.get("repository_branch"))
    if repo is None:
        options.pop("launch_buttons", None)
        for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
            options[key] = False
    else:
        options.update(repository_url=repo.url, repository_branch=repo.branch,
                       use_repository_button=True, use_issues_button=True)
    return options


def _config_inited(app, config) -> None:
    config.html_theme_options = buttons(config.html_theme_options)


def setup(app):
    app.connect("config-inited", _config_inited, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
