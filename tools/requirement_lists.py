"""The lists of requirements written from pyproject.toml, the one place they are kept.

    python tools/requirement_lists.py           # rewrite binder/requirements.txt
    python tools/requirement_lists.py --check   # exit 1 if it is out of date (the tests run this)

pyproject.toml names every requirement once, with its version range: nnlib's
own (``[project] dependencies``) and the groups the book adds
(``[project.optional-dependencies]``: plot, notebooks, lab, book, test).
requirements.txt installs nnlib with its groups, so it lists no version itself.
Two lists are written from pyproject.toml instead, for places that cannot
install nnlib with its groups:

* binder/requirements.txt, what the notebooks need on Binder (repo2docker
  installs it, then binder/postBuild installs nnlib): nnlib's requirements and
  the notebooks group;
* the student edition's requirements.txt (python -m coursework.student_edition), next to
  a copy of nnlib: the same and the lab group.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder" / "requirements.txt"

BINDER_GROUPS = ("notebooks",)
STUDENT_GROUPS = ("notebooks", "lab")

BINDER_HEADER = ("# What the notebooks need on Binder (the book's build and test tools are left out).\n"
                 "# Written from pyproject.toml by tools/requirement_lists.py: edit pyproject.toml, then run it.\n")
STUDENT_HEADER = "# What the notebooks need (nnlib itself is the folder next to them).\n"


def groups(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, list[str]]:
    """pyproject.toml's lists: "nnlib" (its dependencies), then each optional group."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return {"nnlib": list(project.get("dependencies", [])), **project.get("optional-dependencies", {})}


def name_of(requirement: str) -> str:
    """The normalized project name a requirement string starts with: "Scikit_Learn>=1" -> "scikit-learn"."""
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not m:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", m.group(1)).lower()


def requirements(*names: str, pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """nnlib's requirements, then those of the groups ``names``, each package once."""
    found = groups(pyproject)
    unknown = [n for n in names if n not in found]
    if unknown:
        raise KeyError(f"pyproject.toml has no group {unknown}; it has {sorted(found)}")
    seen, listed = set(), []
    for group in ("nnlib", *names):
        for requirement in found[group]:
            if name_of(requirement) not in seen:
                seen.add(name_of(requirement))
                listed.append(requirement)
    return listed


def binder_requirements() -> str:
    """The text of binder/requirements.txt."""
    return BINDER_HEADER + "".join(f"{r}\n" for r in requirements(*BINDER_GROUPS))


def student_requirements() -> str:
    """The text of the student edition's requirements.txt."""
    return STUDENT_HEADER + "".join(f"{r}\n" for r in requirements(*STUDENT_GROUPS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if binder/requirements.txt is out of date")
    args = parser.parse_args(argv)
    text = binder_requirements()
    current = BINDER.read_text(encoding="utf-8") if BINDER.exists() else None
    if current == text:
        print(f"{BINDER.relative_to(ROOT)} is up to date")
        return 0
    if args.check:
        print(f"{BINDER.relative_to(ROOT)} is out of date: run `python tools/requirement_lists.py`", file=sys.stderr)
        return 1
    BINDER.write_text(text, encoding="utf-8")
    print(f"wrote {BINDER.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
