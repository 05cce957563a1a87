"""The Chinese edition: its message catalogs, their check, and its build.

The book is written in English. Its Chinese edition is the same notebooks and
pages read through Sphinx's message catalogs (gettext): one ``.po`` file per
page under ``locale/zh_CN/LC_MESSAGES/``, committed. Code, outputs and display
formulas are not messages (``book_ext/i18n.py``); the prose, headings,
captions, alt texts and part captions are.

    python tools/i18n.py refresh   after changing English prose (make translations):
                                   extract the messages from the English and
                                   update every catalog. A changed paragraph's
                                   old translation stays, marked fuzzy (to be
                                   revised); a new one is empty; a removed one
                                   is kept at the end of the file, obsolete.
    python tools/i18n.py check     extract the messages afresh and fail on any
                                   that is untranslated, fuzzy, or whose
                                   translation lost or changed a formula, code
                                   span, role target, link target or glossary
                                   term (tests/test_translation.py runs it)
    python tools/i18n.py build     the Chinese HTML book, strict (-W -n), into
                                   _build/html/zh/ (make book runs it)
    python tools/i18n.py config    print the Chinese edition's _config.yml

The API reference (chapters/api.md) stays English in both editions: it is
nnlib's docstrings, which are code.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = "zh_CN"
LOCALE = ROOT / "locale" / LANGUAGE / "LC_MESSAGES"
BUILD = ROOT / "_build"
JB = Path(sys.executable).parent / "jupyter-book"
FLAGS = ["-W", "-n", "--keep-going"]
# Pages whose catalogs are not made: the API reference stays English. sphinx.po is the
# project's own catalog of the theme's and templates' strings, kept by hand.
UNTRANSLATED = {"chapters/api"}
OWN_CATALOG = "sphinx"
ZH_TITLE = "用 NumPy 从零构建神经网络"


# ---------------------------------------------------------------------------------------------
# Extracting and refreshing
# ---------------------------------------------------------------------------------------------
def extract(out: Path) -> dict[str, Catalog]:
    """Run Sphinx's gettext builder on the English book; return page -> template catalog."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(JB), "build", str(ROOT), "--builder", "custom", "--custom-builder", "gettext",
                    "--path-output", str(out), *FLAGS], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    folder = out / "_build" / "gettext"
    templates = {}
    for pot in sorted(folder.rglob("*.pot")):
        page = pot.relative_to(folder).with_suffix("").as_posix()
        if page in UNTRANSLATED or page == OWN_CATALOG:
            continue
        with pot.open("rb") as fh:
            templates[page] = read_po(fh)
    return templates


HEADER = """\
# The Chinese edition of "Neural networks from scratch with NumPy": the messages of one page.
# Refreshed from the English by `make translations` (tools/i18n.py refresh); checked by
# `python tools/i18n.py check`. Translate msgstr only; keep every formula, code span, role
# target and link target of the msgid as it is.
#"""


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for message in catalog:
        # Babel guesses that prose with braces is a Python format string; it is not.
        message.flags -= {"python-format", "python-brace-format"}
    catalog.header_comment = HEADER
    buffer = io.BytesIO()
    # One line per message (no wrapping): a changed paragraph is a one-line diff.
    write_po(buffer, catalog, width=0, omit_header=False, sort_output=False, include_previous=True)
    # No dates and no template placeholders in the header: a refresh that changes no message
    # changes no file.
    volatile = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date|Last-Translator|Language-Team|'
                          rb'Report-Msgid-Bugs-To): .*\\n"\n', re.M)
    text = volatile.sub(b"", buffer.getvalue()).replace(f"{ZH_TITLE} VERSION".encode(), ZH_TITLE.encode())
    path.write_bytes(text)


def refresh(out: Path) -> None:
    templates = extract(out)
    for page, template in templates.items():
        path = LOCALE / f"{page}.po"
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=LANGUAGE)
        else:
            catalog = Catalog(locale=LANGUAGE, project=ZH_TITLE, fuzzy=False)
        catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
        catalog.project = ZH_TITLE
        _write(catalog, path)
        done = sum(1 for m in catalog if m.id and m.string and not m.fuzzy)
        print(f"{path.relative_to(ROOT)}: {done} of {len(template)} messages translated")
    for path in sorted(LOCALE.rglob("*.po")):
        page = path.relative_to(LOCALE).with_suffix("").as_posix()
        if page not in templates and page != OWN_CATALOG:
            print(f"{path.relative_to(ROOT)}: its page is gone from the book; remove the file")


# ---------------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------------
ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
CODE = re.compile(r"(?<![`}])``?([^`]+?)``?(?!`)")
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)((?:\\.|[^$\\])+?)\$")
LINK = re.compile(r"\]\(([^)\s]+)\)|<(https?://[^>\s]+)>")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Glossary terms a Chinese text writes as they are, like the sources do.
KEPT_IN_ENGLISH = {"relu", "tanh", "xor", "adam", "mse", "sgd", "softmax", "sigmoid", "logits", "dense layer"}


def glossary_groups(path: Path = ROOT / "chapters" / "glossary.md") -> dict[str, list[str]]:
    """Each English glossary term (lower case) -> the terms of its entry, in order."""
    groups: dict[str, list[str]] = {}
    inside, current = False, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```{glossary}"):
            inside = True
            continue
        if not inside:
            continue
        if line.startswith("```"):
            break
        if line and not line[0].isspace() and not line.startswith(":"):
            current.append(line.strip())
            continue
        if current:
            for term in current:
                if not CJK.search(term):
                    groups[term.lower()] = current
            current = []
    return groups


def _target(role: str, text: str) -> str:
    m = re.fullmatch(r"(.*?)\s*<([^<>]+)>", text, re.S)
    return m.group(2).strip() if m else text.strip()


def tokens(text: str) -> dict[str, Counter]:
    """What a translation must keep: roles' targets, code spans, formulas, link targets."""
    roles = [(r, _target(r, t)) for r, t in ROLE.findall(text)]
    rest = ROLE.sub(" ", text)
    code = CODE.findall(rest)
    rest = CODE.sub(" ", rest)
    maths = [m.strip() for m in DISPLAY_MATH.findall(rest)]
    rest = DISPLAY_MATH.sub(" ", rest)
    maths += [m.strip() for m in INLINE_MATH.findall(rest)]
    links = [a or b for a, b in LINK.findall(rest)]
    return {"role": Counter(f"{{{r}}}`{t}`" for r, t in roles), "code span": Counter(code),
            "formula": Counter(maths), "link target": Counter(links)}


@dataclass
class Problem:
    page: str
    msgid: str
    what: str

    def __str__(self) -> str:
        short = self.msgid if len(self.msgid) <= 100 else self.msgid[:97] + "..."
        return f"{self.page}: {self.what}\n    msgid: {short}"


def has_words(msgid: str) -> bool:
    """Does a message hold any prose? ``$x_1$``, ```X```, ``0`` and the like read the same in Chinese."""
    rest = DISPLAY_MATH.sub(" ", CODE.sub(" ", ROLE.sub(" ", msgid)))
    return bool(re.search(r"[A-Za-z]{2,}", INLINE_MATH.sub(" ", rest)))


def check_message(page: str, msgid: str, msgstr: str, fuzzy: bool,
                  groups: dict[str, list[str]]) -> list[Problem]:
    if not msgstr and not has_words(msgid):
        return []
    if not msgstr:
        return [Problem(page, msgid, "not translated")]
    if fuzzy:
        return [Problem(page, msgid, "fuzzy: the English changed since it was translated; revise it, "
                                     "then remove the fuzzy flag")]
    problems = []
    want, got = tokens(msgid), tokens(msgstr)
    for kind in want:
        lost, added = want[kind] - got[kind], got[kind] - want[kind]
        if lost or added:
            said = "; ".join(filter(None, [
                f"missing {', '.join(map(repr, lost.elements()))}" if lost else "",
                f"not in the English {', '.join(map(repr, added.elements()))}" if added else ""]))
            problems.append(Problem(page, msgid, f"{kind}s differ from the English: {said}"))
    if "[^" in msgstr:
        problems.append(Problem(page, msgid, "a footnote in a translation breaks the build (myst-parser 3)"))
    for role, text in ROLE.findall(msgstr):
        if role != "term":
            continue
        target = _target(role, text)
        shown = re.sub(r"\s*<[^<>]+>$", "", text).strip()
        group = groups.get(target.lower())
        if group is None:
            problems.append(Problem(page, msgid, f"{{term}}`{text}`: {target!r} is not a glossary term"))
            continue
        chinese = [t for t in group if CJK.search(t)]
        if not any(t.lower() in shown.lower() for t in chinese) and shown.lower() not in KEPT_IN_ENGLISH:
            problems.append(Problem(page, msgid, f"{{term}}`{text}` shows {shown!r}: use the glossary's "
                                                 f"term, {' or '.join(chinese)}"))
    return problems


def check(templates: dict[str, Catalog]) -> list[Problem]:
    groups = glossary_groups()
    problems = []
    for page, template in templates.items():
        path = LOCALE / f"{page}.po"
        if not path.exists():
            problems.append(Problem(page, "", f"no catalog {path.relative_to(ROOT)}: run make translations"))
            continue
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=LANGUAGE)
        for message in template:
            if not message.id:
                continue
            have = catalog.get(message.id)
            msgstr = have.string if have is not None else ""
            fuzzy = have is not None and have.fuzzy
            if have is None:
                problems.append(Problem(page, message.id, "new English, not in the catalog: run make "
                                                          "translations, then translate it"))
                continue
            problems += check_message(page, message.id, msgstr, fuzzy, groups)
    return problems


def check_files(paths: list[Path]) -> list[Problem]:
    """Check committed catalogs on their own (for translators): no extraction."""
    groups = glossary_groups()
    problems = []
    for path in paths:
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=LANGUAGE)
        for message in catalog:
            if message.id:
                problems += check_message(path.stem, message.id, message.string, message.fuzzy, groups)
    return problems


# ---------------------------------------------------------------------------------------------
# The Chinese build
# ---------------------------------------------------------------------------------------------
def zh_config() -> dict:
    """The Chinese edition's configuration: _config.yml with the language and the title changed."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = ZH_TITLE
    config["author"] = "nnlib 图书作者"
    sphinx_config = config["sphinx"]["config"]
    sphinx_config["language"] = LANGUAGE
    # Strings that come from settings, not from a catalog: jupyter-book's search field and
    # myst-nb's line above a hidden code cell (in Chinese without its {type}, which is English).
    sphinx_config.setdefault("html_theme_options", {})["search_bar_text"] = "搜索本书……"
    sphinx_config["nb_code_prompt_show"] = "显示折叠的单元格内容"
    sphinx_config["nb_code_prompt_hide"] = "折叠单元格内容"
    # The file is written elsewhere (_build/zh/): its paths are made absolute.
    config["sphinx"]["local_extensions"] = {name: str(ROOT / folder)
                                            for name, folder in config["sphinx"]["local_extensions"].items()}
    for key in ("html_static_path", "locale_dirs", "latex_additional_files"):
        sphinx_config[key] = [str(ROOT / path) for path in sphinx_config.get(key, [])]
    return config


def build_html(out: Path = BUILD / "zh", target: Path = BUILD / "html" / "zh") -> None:
    out.mkdir(parents=True, exist_ok=True)
    config = out / "_config.yml"
    config.write_text(yaml.safe_dump(zh_config(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    subprocess.run([str(JB), "build", str(ROOT), "--config", str(config), "--path-output", str(out), *FLAGS],
                   check=True, cwd=ROOT)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(out / "_build" / "html", target)
    print(f"The Chinese edition is in {target.relative_to(ROOT)}/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("refresh", help="update the catalogs from the English")
    c = sub.add_parser("check", help="fail on untranslated, fuzzy or damaged messages")
    c.add_argument("files", nargs="*", type=Path, help="only these .po files, without extracting afresh")
    sub.add_parser("build", help="build the Chinese HTML edition into _build/html/zh/")
    sub.add_parser("config", help="print the Chinese edition's configuration")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        refresh(BUILD / "gettext")
    elif args.command == "check":
        if args.files:
            problems = check_files(args.files)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                problems = check(extract(Path(tmp)))
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)" if problems else "Every message is translated and intact.")
        return 1 if problems else 0
    elif args.command == "build":
        build_html()
    else:
        print(yaml.safe_dump(zh_config(), allow_unicode=True, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
