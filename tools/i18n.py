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
                                   _build/html/zh/ (make book runs it); with
                                   --source/--out/--into, another book source
                                   (make student-book builds the student book's);
                                   --builder latex: the LaTeX for the Chinese
                                   PDFs (tools/build_pdf.py --language zh)
    python tools/i18n.py config    print the Chinese edition's _config.yml

The API reference (chapters/api.md) stays English in both editions: it is
nnlib's docstrings, which are code.
"""

from __future__ import annotations

import argparse
import difflib
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
from babel.messages.pofile import read_po, unescape, write_po

if not __package__:  # run as `python tools/i18n.py`: the repository's folders are packages
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from book_ext.i18n import CJK, glossary_groups  # noqa: E402

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
        if not message.fuzzy:
            message.previous_id = []      # the old English matters only until the translation is revised
    catalog.header_comment = HEADER
    buffer = io.BytesIO()
    # One line per message (no wrapping): a changed paragraph is a one-line diff.
    write_po(buffer, catalog, width=0, omit_header=False, sort_output=False, include_previous=True)
    # No dates and no template placeholders in the header: a refresh that changes no message
    # changes no file.
    volatile = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date|Last-Translator|Language-Team|'
                          rb'Report-Msgid-Bugs-To): .*\\n"\n', re.M)
    text = volatile.sub(b"", buffer.getvalue())
    text = re.sub(rb'^"Project-Id-Version: .*\\n"$', f'"Project-Id-Version: {ZH_TITLE}\\\\n"'.encode(), text,
                  count=1, flags=re.M)
    path.write_bytes(text)


def read(path: Path) -> Catalog:
    """A catalog as written by ``_write``. (Babel reads a ``#| msgid`` line, the English a
    fuzzy translation was made for, as a translator's comment; it is put back in its place.)"""
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=LANGUAGE)
    for message in list(catalog) + list(catalog.obsolete.values()):
        comments = message.user_comments
        starts = [i for i, c in enumerate(comments) if c.startswith("| msgid ")]
        if not starts:
            continue
        # Babel wraps a long old msgid over several "#|" lines, breaking it at spaces.
        end = starts[0] + 1
        while end < len(comments) and comments[end].startswith("| ") and not comments[end].startswith("| msgid"):
            end += 1
        quoted = " ".join([comments[starts[0]][len("| msgid "):]] + [c[2:] for c in comments[starts[0] + 1:end]])
        message.previous_id = [unescape(quoted)]
        message.user_comments = comments[:starts[0]] + comments[end:]
    return catalog


def update(template: Catalog, path: Path) -> Catalog:
    """Bring the catalog at ``path`` (new if missing) up to ``template``'s messages, and write it.

    New messages come in untranslated; a changed one keeps its old translation,
    marked fuzzy, with the old English as ``#| msgid``; a removed one becomes
    obsolete (``#~``, at the end of the file).
    """
    catalog = read(path) if path.exists() else Catalog(locale=LANGUAGE, project=ZH_TITLE, fuzzy=False)
    before = {m.id: m.string for m in catalog if m.id and m.string}
    was_fuzzy = {m.id: m.previous_id for m in catalog if m.id and m.fuzzy}
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
    catalog.project = ZH_TITLE
    # Babel keeps an old translation for a changed message but not the old English: found
    # again as babel finds it (the closest old message), so the translator sees what changed.
    gone = [msgid for msgid in before if msgid not in catalog]
    for message in catalog:
        if message.id in was_fuzzy and message.fuzzy and not message.previous_id:
            message.previous_id = was_fuzzy[message.id]      # still to be revised: keep what it says
        elif message.id and message.fuzzy and not message.previous_id:
            close = difflib.get_close_matches(message.id, gone, 1)
            if close:
                message.previous_id = [close[0]]
    _write(catalog, path)
    return catalog


def refresh(out: Path) -> None:
    templates = extract(out)
    for page, template in templates.items():
        path = LOCALE / f"{page}.po"
        catalog = update(template, path)
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
# Glossary terms a Chinese text writes as they are, like the sources do.
KEPT_IN_ENGLISH = {"relu", "tanh", "xor", "adam", "mse", "sgd", "softmax", "sigmoid", "logits", "dense layer"}


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
        catalog = read(path)
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
        catalog = read(path)
        for message in catalog:
            if message.id:
                problems += check_message(path.stem, message.id, message.string, message.fuzzy, groups)
    return problems


# ---------------------------------------------------------------------------------------------
# The Chinese build
# ---------------------------------------------------------------------------------------------
def zh_config(source: Path = ROOT) -> dict:
    """The Chinese edition's configuration: ``source``'s _config.yml, the language and title changed.

    ``source`` is the book (the repository) or the student book's source tree
    (coursework/student_edition.py), whose title says "(student edition)".
    """
    config = yaml.safe_load((source / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = ZH_TITLE + ("（学生版）" if "(student edition)" in config["title"] else "")
    config["author"] = "nnlib 图书作者"
    sphinx_config = config["sphinx"]["config"]
    sphinx_config["language"] = LANGUAGE
    # Strings that come from settings, not from a catalog: jupyter-book's search field and
    # myst-nb's line above a hidden code cell (in Chinese without its {type}, which is English).
    sphinx_config.setdefault("html_theme_options", {})["search_bar_text"] = "搜索本书……"
    sphinx_config["nb_code_prompt_show"] = "显示折叠的单元格内容"
    sphinx_config["nb_code_prompt_hide"] = "折叠单元格内容"
    # The file is written elsewhere (_build/zh/): its paths are made absolute. The catalogs are
    # the repository's, whichever source is built.
    config["sphinx"]["local_extensions"] = {name: str(source / folder)
                                            for name, folder in config["sphinx"]["local_extensions"].items()}
    for key in ("html_static_path", "latex_additional_files"):
        sphinx_config[key] = [str(source / path) for path in sphinx_config.get(key, [])]
    sphinx_config["locale_dirs"] = [str(ROOT / path) for path in sphinx_config.get("locale_dirs", [])]
    return config


def build(source: Path, out: Path, builder: str = "html") -> Path:
    """Build ``source`` in Chinese with ``builder`` (strict) under ``out``; return the output folder."""
    out.mkdir(parents=True, exist_ok=True)
    config = out / "_config.yml"
    config.write_text(yaml.safe_dump(zh_config(source), allow_unicode=True, sort_keys=False), encoding="utf-8")
    extra = [] if builder == "html" else ["--builder", builder]
    subprocess.run([str(JB), "build", str(source), "--config", str(config), "--path-output", str(out),
                    *extra, *FLAGS], check=True, cwd=ROOT)
    return out / "_build" / builder


def build_html(source: Path = ROOT, out: Path = BUILD / "zh", target: Path = BUILD / "html" / "zh") -> None:
    """The Chinese HTML edition of ``source``, copied to ``target`` (beside the English)."""
    html = build(source, out)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(html, target)
    print(f"The Chinese edition is in {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("refresh", help="update the catalogs from the English")
    c = sub.add_parser("check", help="fail on untranslated, fuzzy or damaged messages")
    c.add_argument("files", nargs="*", type=Path, help="only these .po files, without extracting afresh")
    b = sub.add_parser("build", help="build the Chinese HTML edition into _build/html/zh/")
    b.add_argument("--source", type=Path, default=ROOT, help="the book's source (default: the repository)")
    b.add_argument("--out", type=Path, default=BUILD / "zh", help="the build folder (default: _build/zh)")
    b.add_argument("--into", type=Path, default=BUILD / "html" / "zh",
                   help="where the HTML goes, beside the English (default: _build/html/zh)")
    b.add_argument("--builder", default="html", help="html (default) or latex (tools/build_pdf.py): "
                   "a LaTeX build stays in OUT/_build/latex")
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
    elif args.command == "build" and args.builder != "html":
        build(args.source.resolve(), args.out.resolve(), args.builder)
    elif args.command == "build":
        build_html(args.source.resolve(), args.out.resolve(), args.into.resolve())
    else:
        print(yaml.safe_dump(zh_config(), allow_unicode=True, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
