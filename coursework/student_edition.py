"""Write the student edition of the chapter notebooks: the exercises without their solutions.

    python -m coursework.student_edition OUTDIR                 # notebooks to hand out
    python -m coursework.student_edition OUTDIR --only 1,2      # a week's hand-out: chapters 1 and 2
    python -m coursework.student_edition OUTDIR --language zh   # the same in Chinese (中文版)
    python -m coursework.student_edition --book-source OUTDIR   # a jupyter-book source tree (student book)
    python -m coursework.student_edition --verify-html HTMLDIR  # fail if a built book shows solutions

The exercise cells follow the format in chapters/teaching.md ("Adding an
exercise"). In the student edition of a notebook:

* every cell tagged ``solution`` is removed: a code cell is replaced by its stub
  (``cell.metadata["nnlib"]["stub"]``: same signature and docstring, body
  ``raise NotImplementedError``), consecutive markdown cells by one
  "*Write your answer here.*" cell, tagged with the exercise's label
  (``metadata["coursework"]["answer"]``) so that the class checker finds the
  written answer (the statement cell carries ``["exercise"]``);
  a solution cell marked ``metadata["nnlib"]["extra"]`` (the library's own code,
  shown once the exercise is done, or a comparison that uses the answer) is
  removed without a trace;
* the ``solution-start`` / ``solution-end`` cells are removed;
* the opening of the "## Exercises" section, which tells the reader where the
  model solutions are, becomes :data:`STUDENT_EXERCISES_INTRO`;
* glossary roles become their text and admonitions block quotes
  (:func:`plain_markdown`), since the hand-out is read outside the book;
* each ``exercise`` directive becomes a plain heading "### Exercise N.k: title"
  followed by the statement, so that it reads well in Jupyter;
* outputs and execution counts are cleared. Check cells stay: run top to bottom,
  each of them says NOT DONE YET.

``OUTDIR`` receives the notebooks, the folders they need (chapters/images/),
a copy of the ``nnlib`` package and of the checkers (the parts of
``coursework`` the check cells import, not the class checker or this tool),
so that the notebooks run without installing anything of the book, and a
short README. The result is checked before it is written: no cell tagged
``solution``, no exercise or solution directive is left.

With ``--language zh`` the notebooks' prose is Chinese: every markdown cell is
translated from the Chinese edition's message catalogs (``locale/zh_CN/``, by
``tools/i18n_notebooks.py``) before it is converted, and so are the figures'
captions and alt texts in the code cells' metadata; code, outputs and formulas
stay as they are. What the tool writes itself is Chinese too
(:data:`CHINESE`): "练习 N.k：title", "*在这里写下你的答案。*", the exercises'
opening, "the figure above" (上图); the README gets a Chinese translation
beside it (``README.zh-CN.md``). The report says, per notebook, how many prose
blocks were translated, and lists any that were not.

The student *book* (``--book-source``) leaves out the teacher's guide
(chapters/teaching.md) and every link to it, and shows no repository or
launch button: those would open the repository's notebooks, solutions and
all, instead of the student ones.
"""

from __future__ import annotations

import argparse
import copy
import html
import html.parser
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat


ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"

ANSWER_PLACEHOLDER = "*Write your answer here.*"
# The chapters' "## Exercises" section opens by telling the reader where the model
# solutions are; the student edition has none, so its opening says what to do instead.
STUDENT_EXERCISES_INTRO = """\
## Exercises

Each exercise states a task, and the cell below it is yours. For a coding exercise it
holds the function to write: keep its name and arguments, and replace the line
`raise NotImplementedError(...)` with your code. For a written exercise, replace
*Write your answer here.* with your answer. A coding exercise ends with a check cell: it
runs your function on several inputs, some of which you never see, compares the results
with `nnlib`'s own, and prints **PASS**, **FAIL** with a hint (which input, what was
expected, what came back), or **NOT DONE YET** while the function still raises
`NotImplementedError`. Run the check cell again after every change. The function must be
your own code: one that calls the library's version of it fails."""
ANSWER_PLACEHOLDER_ZH = "*在这里写下你的答案。*"
# One line per paragraph: a line break inside Chinese text shows as a space.
STUDENT_EXERCISES_INTRO_ZH = (
    "## 练习\n\n"
    "每道练习都先给出一项任务，它下面的单元格由你来完成。编程练习的这个单元格里是要编写的函数：保留它的名称和参数，"
    "把 `raise NotImplementedError(...)` 这一行换成你的代码。书面练习则把 *在这里写下你的答案。* 换成你的答案。"
    "编程练习的最后是一个检查单元格：它在若干输入上运行你的函数（其中一些输入你看不到），把结果与 `nnlib` "
    "自己的结果进行比较，然后打印 **PASS**；或者打印 **FAIL** 并附上提示（哪个输入、期望得到什么、实际得到什么）；"
    "如果函数仍然抛出 `NotImplementedError`，则打印 **NOT DONE YET**。每次修改之后都请重新运行检查单元格。"
    "函数必须是你自己写的代码：直接调用库中现成版本的函数无法通过检查。")


@dataclass(frozen=True)
class EditionTexts:
    """What the student edition writes itself, in one language."""

    language: str
    answer: str                  # the written answer's placeholder
    exercises_intro: str         # the opening of the "## Exercises" section
    heading: str                 # an exercise's heading, with {number} and {title}
    heading_untitled: str        # the same for an exercise without a title
    figures: dict[str, str]      # {numref}: "above", "below", ... -> the phrase ({} in English: _figure_phrase)
    admonitions: dict[str, str]  # an admonition's title when its directive gives none


ENGLISH = EditionTexts("en", ANSWER_PLACEHOLDER, STUDENT_EXERCISES_INTRO, "### Exercise {number}: {title}",
                       "### Exercise {number}", {}, {})
CHINESE = EditionTexts(
    "zh", ANSWER_PLACEHOLDER_ZH, STUDENT_EXERCISES_INTRO_ZH, "### 练习 {number}：{title}", "### 练习 {number}",
    {"above": "上图", "below": "下图", "in another chapter of the book": "本书另一章中的图", "of the book": "书中的图"},
    {"note": "注意", "tip": "提示", "hint": "提示", "important": "重要", "warning": "警告", "caution": "小心",
     "attention": "注意", "danger": "危险", "error": "错误", "seealso": "另请参阅"})
LANGUAGES = {"en": ENGLISH, "zh": CHINESE}

DIRECTIVES = ("exercise", "exercise-start", "exercise-end", "solution", "solution-start", "solution-end")
# An opening fence of a MyST directive: ```{name} argument  or  :::{name} argument
_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})\{(?P<name>[A-Za-z][\w-]*)\}[ \t]*(?P<arg>.*?)[ \t]*$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*?)[ \t]*$")
_BOLD_TITLE = re.compile(r"^\*\*(?P<title>.+?)\*\*[ \t]*")
# Folders inside chapters/ that are never copied.
_SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", "_build", ".jupyter_cache"}


class ExerciseFormatError(ValueError):
    """A chapter notebook does not follow the exercise format."""


@dataclass
class Directive:
    name: str                   # exercise, solution-start, ...
    arg: str                    # text after {name} on the opening line
    options: dict[str, str]     # :key: value lines
    body: str                   # the content without the options
    before: str                 # cell text before the directive
    after: str                  # cell text after the closing fence


@dataclass
class Exercise:
    label: str
    title: str
    number: str                 # "1.2"


@dataclass
class Report:
    """What was converted in one notebook."""

    exercises: list[Exercise] = field(default_factory=list)
    solution_cells: int = 0
    check_cells: int = 0
    # In another language (--language zh): the blocks of prose (paragraphs, headings, list items,
    # table cells, titles, captions, alt texts; formulas and code alone do not count) that the
    # student receives, how many the catalog translated, those it did not ("teacher's cell N,
    # kind: English"), and those whose translation is the English as it is (a name: XOR, Adam).
    language: str = "en"
    translated: int = 0
    untranslated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _closing_fence(lines: list[str], opening: int, fence: str) -> int | None:
    """Index of the line that closes the directive opened at ``lines[opening]`` by ``fence``, or None."""
    for j in range(opening + 1, len(lines)):
        s = lines[j].strip()
        if s and set(s) == {fence[0]} and len(s) >= len(fence):
            return j
    return None


# A glossary reference, {term}`text <target>` or {term}`text`: in plain Markdown, its text.
_TERM = re.compile(r"\{term\}`([^`<]*?)\s*(?:<[^`>]*>)?`")
_ANY_ROLE = re.compile(r"\{[a-z][\w-]*\}`")


_PAGE_LINK = re.compile(r"\[([^\]]+)\]\((?![a-z]+:)[^)\s]*\.md(?:#[^)]*)?\)")
_NUMREF = re.compile(r"\{numref\}`(?:[^`<]*<)?([\w-]+)>?`")


def _figure_phrase(text: str, start: int, place: str) -> str:
    """'the figure below' (or above), capitalised where it starts a sentence."""
    before = text[:start].rstrip(" ")
    opens_sentence = not before or before.endswith(("\n\n", ".", "!", "?", ":", "\n-", "\n*"))
    return ("The" if opens_sentence else "the") + f" figure {place}"


# In Chinese, a figure reference with the spaces around it (a Chinese text sets {numref} apart from
# Chinese words with spaces, since it shows "图 2.1"; the phrase that replaces it needs none).
_NUMREF_SPACED = re.compile(r"(?P<before>[ \t]?)\{numref\}`(?:[^`<]*<)?(?P<name>[\w-]+)>?`(?P<after>[ \t]?)")
_WIDE = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]")   # CJK characters and punctuation


def _spaced_figure(m: re.Match, phrase: str) -> str:
    """``phrase`` in place of a {numref}, keeping a space only next to a word that is not Chinese."""
    text = m.string
    before_char = text[m.start() - 1] if m.start() > 0 else ""
    after_char = text[m.end()] if m.end() < len(text) else ""
    before = m.group("before") if before_char and not _WIDE.match(before_char) else ""
    after = m.group("after") if after_char and not _WIDE.match(after_char) else ""
    return before + phrase + after


def plain_markdown(source: str, figure_place: Callable[[str], str] | None = None,
                   texts: EditionTexts = ENGLISH) -> str:
    """``source`` without MyST syntax that plain Markdown renderers show raw.

    The student edition is opened in JupyterLab without jupyterlab-myst, VS Code,
    Colab...: glossary roles and links to the book's pages (references, glossary)
    become their text, a numbered figure reference "the
    figure above" or "below" (``figure_place(name)`` says which; the hand-out shows no
    figure numbers), and an admonition (an implementation note) a block quote under
    its title in bold. ``texts`` (:data:`CHINESE`) says these in another language.
    """
    text = _TERM.sub(lambda m: m.group(1), source)
    # the hand-out holds the chapters' notebooks, not the book's pages (references, glossary)
    text = _PAGE_LINK.sub(lambda m: m.group(1), text)
    if texts.figures:
        text = _NUMREF_SPACED.sub(lambda m: _spaced_figure(
            m, texts.figures[figure_place(m.group("name")) if figure_place else "of the book"]), text)
    text = _NUMREF.sub(lambda m: _figure_phrase(m.string, m.start(),
                                                figure_place(m.group(1)) if figure_place else "of the book"),
                       text)
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m or m.group("name") in DIRECTIVES:
            out.append(lines[i])
            i += 1
            continue
        end = _closing_fence(lines, i, m.group("fence"))
        end = len(lines) if end is None else end
        body = lines[i + 1:end]
        while body and (_OPTION.match(body[0]) or not body[0].strip()):
            body = body[1:]
        title = m.group("arg") or texts.admonitions.get(m.group("name"), m.group("name").capitalize())
        out += [f"> **{title}**", ">"] + [f"> {line}" if line else ">" for line in body]
        i = end + 1
    return "\n".join(out)


def find_directive(source: str) -> Directive | None:
    """The first exercise/solution directive in a markdown cell, or None."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        m = _OPEN.match(line)
        if not m or m.group("name") not in DIRECTIVES:
            continue
        fence = m.group("fence")
        end = _closing_fence(lines, i, fence)
        if end is None:
            raise ExerciseFormatError(f"the {{{m.group('name')}}} directive is not closed (no {fence} line)")
        inner = lines[i + 1:end]
        options: dict[str, str] = {}
        k = 0
        while k < len(inner) and _OPTION.match(inner[k]):
            om = _OPTION.match(inner[k])
            options[om.group("key")] = om.group("value")
            k += 1
        return Directive(
            name=m.group("name"),
            arg=m.group("arg"),
            options=options,
            body="\n".join(inner[k:]).strip("\n"),
            before="\n".join(lines[:i]).strip("\n"),
            after="\n".join(lines[end + 1:]).strip("\n"),
        )
    return None


def split_title(directive: Directive) -> tuple[str, str]:
    """(title, statement): the directive's argument or the bold first sentence, and the rest."""
    body = directive.body.strip()
    if directive.arg:
        return directive.arg.strip(), body
    m = _BOLD_TITLE.match(body)
    if not m:
        return "", body
    title = m.group("title").strip()
    rest = body[m.end():]
    # A Chinese title's full stop or question mark may follow the bold: **标题**。 or **为什么**？
    if rest[:1] in ("。", "：", "？", "！"):
        title += rest[0] if rest[0] in "？！" else ""
        rest = rest[1:]
    if title.endswith((".", ":", "。", "：")):
        title = title[:-1].rstrip()
    return title, rest.lstrip()


def chapter_number(path: Path) -> str:
    m = re.match(r"^(\d+)", path.stem)
    return str(int(m.group(1))) if m else path.stem


def _nnlib(cell) -> dict:
    """The cell's ``metadata["nnlib"]`` ({} if it has none)."""
    return cell.get("metadata", {}).get("nnlib", {})


def _stub(cell) -> str:
    """The stub of a solution code cell (``metadata["nnlib"]["stub"]``, lines joined), "" if it has none."""
    stub = _nnlib(cell).get("stub") or ""
    return "".join(stub) if isinstance(stub, list) else stub


def _stub_source(cell, where: str) -> str:
    stub = _stub(cell)
    if not isinstance(stub, str) or not stub.strip():
        raise ExerciseFormatError(f'{where}: a solution code cell has no stub (cell.metadata["nnlib"]["stub"])')
    return stub.rstrip("\n")


def _student_metadata(cell) -> dict:
    meta = copy.deepcopy(dict(cell.get("metadata", {})))
    meta.pop("nnlib", None)
    for key in ("execution", "ExecuteTime", "scrolled", "collapsed"):
        meta.pop(key, None)
    kept = [t for t in meta.get("tags", []) if t != "solution"]
    if kept:
        meta["tags"] = kept
    else:
        meta.pop("tags", None)
    return meta


def _clean(cell):
    cell = copy.deepcopy(cell)
    cell.metadata = _student_metadata(cell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def _reaches_student(cell) -> bool:
    """Does any of the cell reach the student edition (a solution code cell's metadata goes to its stub)?"""
    if "solution" not in tags(cell):
        return True
    return cell.get("cell_type") == "code" and not _nnlib(cell).get("extra")


def student_notebook(nb, chapter: str, *, where: str = "notebook", targets: bool = False,
                     texts: EditionTexts = ENGLISH, translator=None):
    """Return (student notebook, Report) for one instructor notebook.

    ``chapter`` numbers the exercises (``Exercise <chapter>.<k>``). With
    ``targets=True`` each heading is preceded by a MyST target ``(label)=`` so
    that cross-references to the exercise still resolve in the student book.
    ``translator`` (a :class:`tools.i18n_notebooks.Translator`) translates every
    cell that reaches the student (markdown, and code cells' figure metadata)
    before it is converted, and ``texts`` gives the sentences the tool writes itself
    in the same language (:data:`CHINESE`).
    """
    out = copy.deepcopy(nb)
    out.cells = []
    report = Report()
    open_solution: str | None = None   # label of the solution block we are in
    pending_md_placeholder = False      # last emitted cell is an answer placeholder

    # where each numbered figure is drawn: the hand-out says "the figure above" or "below"
    figures = {c.metadata["mystnb"]["figure"]["name"]: i for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and c.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")}
    current = 0

    def figure_place(name: str) -> str:
        if name not in figures:
            return "in another chapter of the book"
        return "above" if figures[name] < current else "below"

    def emit(cell):
        nonlocal pending_md_placeholder
        if not targets and cell.cell_type == "markdown":
            # the hand-out is read outside the book
            cell.source = plain_markdown(cell.source, figure_place, texts)
        out.cells.append(cell)
        pending_md_placeholder = False

    for index, cell in enumerate(nb.cells):
        current = index
        here = f"{where}, cell {index + 1}"
        exercises_intro = cell.cell_type == "markdown" and cell.source.startswith("## Exercises\n")
        if translator is not None and not exercises_intro and _reaches_student(cell):
            cell = copy.deepcopy(cell)
            translator.cell = index
            if cell.cell_type == "markdown":
                cell.source = translator.markdown(cell.source)
            else:
                cell.metadata = translator.metadata(cell.metadata)
        directive = None
        if cell.cell_type == "markdown":
            try:
                directive = find_directive(cell.source)
            except ExerciseFormatError as exc:
                raise ExerciseFormatError(f"{here}: {exc}") from None

        if "solution" in tags(cell):
            report.solution_cells += 1
            if _nnlib(cell).get("extra"):
                continue   # not the answer: the library's own code or a comparison, shown after solving
            if cell.cell_type == "code":
                new = nbformat.v4.new_code_cell(_stub_source(cell, here), id=cell.get("id") or f"stub-{index}")
                new.metadata = _student_metadata(cell)
                emit(new)
            elif not pending_md_placeholder:
                new = nbformat.v4.new_markdown_cell(texts.answer, id=cell.get("id") or f"answer-{index}")
                new.metadata = _student_metadata(cell)
                if open_solution:   # the class checker collects the written answer by this label
                    new.metadata["coursework"] = {"answer": open_solution}
                emit(new)
                pending_md_placeholder = True
            continue

        if directive is None:
            if open_solution is not None:
                raise ExerciseFormatError(
                    f"{here}: this cell is inside the solution of {open_solution} but is not tagged "
                    '"solution" (it would be handed out to students); tag it or move it after solution-end')
            if "check" in tags(cell):
                report.check_cells += 1
            cleaned = _clean(cell)
            if exercises_intro:
                cleaned.source = texts.exercises_intro
            emit(cleaned)
            continue

        name = directive.name
        if name == "solution-start":
            if open_solution is not None:
                raise ExerciseFormatError(f"{here}: solution-start inside the solution of {open_solution}")
            open_solution = directive.arg or "?"
            pending_md_placeholder = False
            continue
        if name == "solution-end":
            if open_solution is None:
                raise ExerciseFormatError(f"{here}: solution-end without solution-start")
            open_solution = None
            pending_md_placeholder = False
            continue
        if open_solution is not None:
            raise ExerciseFormatError(f"{here}: a {{{name}}} directive inside the solution of {open_solution}")
        if name == "solution":
            # A non-gated solution: the whole answer is in this one cell.
            new = nbformat.v4.new_markdown_cell(texts.answer, id=cell.get("id") or f"answer-{index}")
            emit(new)
            continue
        if name == "exercise-end":
            text = "\n\n".join(p for p in (directive.before, directive.after) if p)
            if text:
                emit(nbformat.v4.new_markdown_cell(text, id=cell.get("id") or f"exercise-end-{index}"))
            continue
        # exercise or exercise-start: a plain heading and the statement.
        label = directive.options.get("label", "")
        title, statement = split_title(directive)
        number = f"{chapter}.{len(report.exercises) + 1}"
        report.exercises.append(Exercise(label=label, title=title, number=number))
        heading = (texts.heading if title else texts.heading_untitled).format(number=number, title=title)
        parts = [directive.before]
        if targets and label:
            parts.append(f"({label})=\n{heading}")
        else:
            parts.append(heading)
        parts += [statement, directive.after]
        new = nbformat.v4.new_markdown_cell("\n\n".join(p for p in parts if p),
                                            id=cell.get("id") or f"exercise-{index}")
        new.metadata = _student_metadata(cell)
        if label:
            new.metadata["coursework"] = {"exercise": label}
        emit(new)

    if open_solution is not None:
        raise ExerciseFormatError(f"{where}: the solution of {open_solution} has no solution-end")
    out.metadata.pop("widgets", None)
    if translator is not None:
        report.language = texts.language
        report.translated = len(translator.translated)
        def said(block) -> str:
            return f"teacher's cell {block.cell + 1}, {block.kind}: {block.msgid}"
        report.untranslated = [said(b) for b in translator.untranslated]
        report.kept = [said(b) for b in translator.translated if not _WIDE.search(b.translation)]
    problems = leaks(out) + ([] if targets else raw_myst(out))
    if problems:  # cannot happen with the code above; never hand out a notebook that leaks
        raise ExerciseFormatError(f"{where}: the student edition still contains: " + "; ".join(problems))
    return out, report


def raw_myst(nb) -> list[str]:
    """Markdown cells of a hand-out that still hold MyST roles or directives (shown raw outside the book)."""
    problems = []
    for i, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "markdown":
            continue
        if _ANY_ROLE.search(cell.source):
            problems.append(f"cell {i} holds a MyST role: {_ANY_ROLE.search(cell.source).group(0)}")
        if any(_OPEN.match(line) for line in cell.source.splitlines()):
            problems.append(f"cell {i} holds a MyST directive")
    return problems


def leaks(nb) -> list[str]:
    """Everything in a (student) notebook that should not be there: solutions, directives, outputs."""
    problems = []
    for i, cell in enumerate(nb.cells, start=1):
        if "solution" in tags(cell):
            problems.append(f"cell {i} is tagged solution")
        if _nnlib(cell):   # stubs, rubrics: the teacher's metadata
            problems.append(f"cell {i} carries nnlib metadata")
        if cell.cell_type == "markdown":
            d = find_directive(cell.source)
            if d is not None:
                problems.append(f"cell {i} holds a {{{d.name}}} directive")
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            problems.append(f"cell {i} has outputs")
    return problems


def chapter_notebooks(chapters: Path = CHAPTERS) -> list[Path]:
    return sorted(p for p in chapters.glob("*.ipynb") if p.is_file())


def convert_file(src: Path, dest: Path, *, targets: bool = False, language: str = "en") -> Report:
    nb = nbformat.read(src, as_version=4)
    translator = None
    if language != "en":
        from tools.i18n_notebooks import Translator   # the catalogs: babel, myst-parser (a repository tool)
        translator = Translator.for_page(f"chapters/{src.stem}")
    student, report = student_notebook(nb, chapter_number(src), where=src.name, targets=targets,
                                       texts=LANGUAGES[language], translator=translator)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, dest)
    return report


def _copy_dirs(src: Path, dest: Path) -> None:
    for d in sorted(src.iterdir()):
        if d.is_dir() and d.name not in _SKIP_DIRS and not d.name.startswith("."):
            shutil.copytree(d, dest / d.name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(*_SKIP_DIRS))


STUDENT_README = """\
# {title}: student edition

These notebooks are the book's chapters with the exercises left for you to do.

1. Install the requirements once (Python 3.11 or newer):
   `python -m pip install -r requirements.txt`
2. Start Jupyter in this folder: `jupyter lab`
3. In each chapter, write your solution in the cell under "Exercise N.k" (replace the
   `raise NotImplementedError(...)` line), run it, then run the check cell right
   below it. It says PASS, FAIL (with a hint) or NOT DONE YET.

The notebooks import `nnlib` and the checkers (`coursework`) from the folders next to them. Every notebook runs from top to
bottom even before you have solved anything: later cells use nnlib's own implementation.
Hand in the notebooks (the .ipynb files) as your teacher asks.
"""
# Added to README.md in the Chinese edition, which also gets README.zh-CN.md.
STUDENT_README_ZH_NOTE = """
This is the Chinese edition: the notebooks' text is in Chinese, and each exercise is headed
"练习 N.k" (Exercise N.k). README.zh-CN.md is this README in Chinese.
"""
# One line per paragraph: a line break inside Chinese text shows as a space.
STUDENT_README_ZH = """\
# {title}：学生版

这些笔记本就是本书的各章，其中的练习留给你来完成。

1. 先安装一次所需的软件包（需要 Python 3.11 或更新版本）：`python -m pip install -r requirements.txt`
2. 在这个文件夹中启动 Jupyter：`jupyter lab`
3. 在每一章中，把你的解答写在“练习 N.k”下面的单元格里（替换 `raise NotImplementedError(...)` 这一行），运行它，然后运行紧接在它下面的检查单元格。检查单元格会显示 PASS、FAIL（附有提示）或 NOT DONE YET（尚未完成）。

笔记本从旁边的文件夹导入 `nnlib` 和检查程序（`coursework`）。即使你还一道题都没有做，每个笔记本也能从头到尾运行：后面的单元格用的是 nnlib 自己的实现。请按老师的要求提交笔记本（.ipynb 文件）。
"""


MARKER = ".student-edition"


def _fresh_folder(outdir: Path) -> None:
    """Create ``outdir`` empty; an earlier student edition there is replaced, anything else refused."""
    if outdir.exists() and any(outdir.iterdir()):
        if not (outdir / MARKER).exists():
            raise ExerciseFormatError(f"{outdir} exists and is not a student edition written by this tool; "
                                      "give a new or empty folder")
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / MARKER).write_text("Written by python -m coursework.student_edition; replaced when it runs "
                                 "again.\n")


#: The modules of ``coursework`` that the check cells need; the rest (the class
#: checker, its sandbox, this tool) is the teacher's and stays out of the edition.
STUDENT_MODULES = ("__init__.py", "registry.py", "protocol.py", "guard.py", "_checking.py",
                   "_experiment.py", *sorted(p.name for p in Path(__file__).resolve().parent.glob("ch[0-9][0-9].py")))


def select_chapters(spec: str | None, chapters: Path = CHAPTERS) -> list[Path]:
    """The notebooks of the chapters ``spec`` names ("1,2" or "3-5"; None: all), or ValueError."""
    notebooks = chapter_notebooks(chapters)
    if not spec:
        return notebooks
    numbers = {int(m[0]) for p in notebooks for m in [re.match(r"\d+", p.stem)] if m}
    wanted: set[int] = set()
    for item in (s.strip() for s in spec.split(",")):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
        if not m:
            raise ValueError(f"--only: {item!r} is not a chapter number or range (for example 1,2 or 3-5)")
        first, last = int(m[1]), int(m[2] or m[1])
        missing = sorted(set(range(first, last + 1)) - numbers)
        if missing or first > last:
            raise ValueError(f"--only: no chapter {missing[0] if missing else item} (the chapters are "
                             f"{', '.join(map(str, sorted(numbers)))})")
        wanted |= set(range(first, last + 1))
    return [p for p in notebooks if (m := re.match(r"\d+", p.stem)) and int(m[0]) in wanted]


def write_edition(outdir: Path, chapters: Path = CHAPTERS, *, with_nnlib: bool = True,
                  only: str | None = None, language: str = "en") -> dict[str, Report]:
    """The student edition of the notebooks in ``chapters`` (those of ``only``, say "1,2": a week's
    hand-out) into ``outdir`` (replaced if it is one); ``language="zh"``: in Chinese."""
    if language not in LANGUAGES:
        raise ValueError(f"--language: {language!r} is not one of {', '.join(LANGUAGES)}")
    notebooks = select_chapters(only, chapters)
    _fresh_folder(outdir)
    reports = {}
    for src in notebooks:
        reports[src.name] = convert_file(src, outdir / src.name, language=language)
    _copy_dirs(chapters, outdir)
    if with_nnlib:
        import nnlib
        pkg = Path(nnlib.__file__).resolve().parent
        shutil.copytree(pkg, outdir / "nnlib", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        checkers = outdir / "coursework"
        checkers.mkdir()
        for name in STUDENT_MODULES:
            shutil.copy2(Path(__file__).resolve().parent / name, checkers / name)
        from tools.requirement_lists import student_requirements  # pyproject.toml's ranges (a repository tool)
        (outdir / "requirements.txt").write_text(student_requirements(), encoding="utf-8")
        readme = STUDENT_README.format(title=_book_title())
        if language == "zh":
            from tools.i18n import ZH_TITLE
            readme += STUDENT_README_ZH_NOTE
            (outdir / "README.zh-CN.md").write_text(STUDENT_README_ZH.format(title=ZH_TITLE), encoding="utf-8")
        (outdir / "README.md").write_text(readme, encoding="utf-8")
    return reports


def _book_title() -> str:
    config = ROOT / "_config.yml"
    if config.exists():
        m = re.search(r'^title:\s*"?(.*?)"?\s*$', config.read_text(encoding="utf-8"), re.MULTILINE)
        if m:
            return m.group(1)
    return "The book"


# Top-level entries never copied into the student book's source tree.
_BOOK_SKIP = {".git", ".venv", "_build", "tests", "tools", "nnlib", "coursework", "benchmarks", ".ci", ".hypothesis",
              ".pytest_cache", "__pycache__", ".ipynb_checkpoints", ".jupyter_cache", "student", "chapters"}


TEACHERS_GUIDE = "teaching.md"
_TEACHING_LINK = re.compile(r":? see \[[^\]]*\]\(teaching\.md\)")


def _without_teaching(toc: str) -> str:
    """The table of contents without the teacher's guide (its entry, and its part if it is alone there)."""
    lines = toc.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("- caption:") and i + 2 < len(lines) and lines[i + 1].strip() == "chapters:" \
                and lines[i + 2].strip() == "- file: chapters/teaching" \
                and (i + 3 >= len(lines) or not lines[i + 3].strip().startswith("- file:")):
            i += 3
            continue
        if line.strip() == "- file: chapters/teaching":
            i += 1
            continue
        out.append(line)
        i += 1
    if "chapters/teaching" in "\n".join(out):
        raise ExerciseFormatError("_toc.yml: the teacher's guide is listed in a way the student book cannot drop")
    return "\n".join(out) + "\n"


def write_book_source(outdir: Path, root: Path = ROOT) -> dict[str, Report]:
    """A jupyter-book source tree that builds the book without solutions.

    The chapters are the student notebooks (with MyST targets, so references to
    exercises still resolve); the other pages are copied; other top-level
    folders (e.g. static files) are linked; _config.yml gets "(student edition)"
    added to its title, and notebook execution on (the notebooks have no outputs).
    The teacher's guide is left out (page, table-of-contents entry, links), and
    so is the repository address (no repository or launch buttons).
    """
    outdir = outdir.resolve()
    _fresh_folder(outdir)
    for entry in sorted(root.iterdir()):
        if entry.name in _BOOK_SKIP or entry.name.startswith(".") or entry.name.endswith(".egg-info") \
                or outdir.is_relative_to(entry.resolve()):   # also true for outdir itself
            continue
        if entry.is_dir():
            (outdir / entry.name).symlink_to(entry.resolve(), target_is_directory=True)
        elif entry.name == "_config.yml":
            text = entry.read_text(encoding="utf-8")
            text = re.sub(r'^(title:\s*)"(.*)"\s*$', r'\1"\2 (student edition)"', text, count=1, flags=re.MULTILINE)
            # The student notebooks carry no outputs: the build executes them.
            text, n = re.subn(r'^(\s+execute_notebooks:).*$', r'\1 force', text, count=1, flags=re.MULTILINE)
            if n == 0 and re.search(r"^execute:", text, flags=re.MULTILINE):
                raise ValueError(f"{entry}: an execute: section without execute_notebooks")
            if n == 0:
                text = text.rstrip("\n") + "\nexecute:\n  execute_notebooks: force\n"
            # No repository: its launch and download buttons would open the teacher's notebooks.
            text, n = re.subn(r'^(repository:\s*\n\s+url:).*$', r'\1 ""', text, count=1, flags=re.MULTILINE)
            if n == 0 and re.search(r"^repository:", text, flags=re.MULTILINE):
                raise ValueError(f"{entry}: a repository: section whose first entry is not url:")
            (outdir / entry.name).write_text(text, encoding="utf-8")
        elif entry.name == "_toc.yml":
            (outdir / entry.name).write_text(_without_teaching(entry.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            shutil.copy2(entry, outdir / entry.name)
    chapters = root / "chapters"
    dest = outdir / "chapters"
    dest.mkdir()
    reports = {}
    for src in sorted(chapters.iterdir()):
        if src.is_dir() or src.name == TEACHERS_GUIDE:
            continue
        if src.suffix == ".ipynb":
            reports[src.name] = convert_file(src, dest / src.name, targets=True)
        elif src.suffix == ".md":
            text = _TEACHING_LINK.sub("", src.read_text(encoding="utf-8"))
            if TEACHERS_GUIDE in text:
                raise ExerciseFormatError(f"{src.name} refers to {TEACHERS_GUIDE} in a way the student book "
                                          "cannot drop: write it as ': see [Teaching with this book](teaching.md)'")
            (dest / src.name).write_text(text, encoding="utf-8")
        else:
            shutil.copy2(src, dest / src.name)
    _copy_dirs(chapters, dest)
    return reports


# --- checking a built HTML book -------------------------------------------------------------

class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "class" and value:
                self.classes.extend(value.split())

    def handle_data(self, data):
        self.parts.append(data)


def _output_text(output) -> str:
    """The text a stored output shows (HTML reduced to its text)."""
    if output.get("output_type") == "stream":
        return "".join(output.get("text", ""))
    data = output.get("data", {})
    if "text/html" in data:
        parser = _Text()
        parser.feed("".join(data["text/html"]))
        return "".join(parser.parts)
    for mime in ("text/markdown", "text/plain"):
        if mime in data:
            return "".join(data[mime])
    return ""


def _norm(text: str) -> str:
    """Text for comparing a notebook's source with a page's text: no markup characters, single spaces."""
    return " ".join(re.sub(r"[`*$]", " ", text).split())


def solution_snippets(chapters: Path = CHAPTERS) -> dict[str, list[str]]:
    """Pieces of each instructor notebook's solutions that appear nowhere else in the book.

    Code solutions give their lines (16 characters or more, comments excluded),
    written answers their sentences (30 characters or more). A piece that also
    occurs in a stub, in another cell or on a markdown page is left out, so
    that finding one in the student book means a solution leaked.
    """
    notebooks = {path: nbformat.read(path, as_version=4) for path in chapter_notebooks(chapters)}
    elsewhere = []
    for nb in notebooks.values():
        for cell in nb.cells:
            if "solution" in tags(cell):
                elsewhere.append(_stub(cell))
            else:
                elsewhere.append(cell.source)
                elsewhere += [_output_text(output) for output in cell.get("outputs", [])]
    elsewhere += [p.read_text(encoding="utf-8") for p in sorted(chapters.glob("*.md"))]
    # nnlib's own code (the book shows it with show_source) is not a solution to hide.
    elsewhere += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "nnlib").glob("*.py"))]
    elsewhere_text = "\n".join(_norm(line) for text in elsewhere for line in text.splitlines())
    snippets = {}
    for path, nb in notebooks.items():
        found: list[str] = []
        for cell in nb.cells:
            if "solution" not in tags(cell):
                continue
            if cell.cell_type == "code":
                pieces = [line for line in cell.source.splitlines() if not line.strip().startswith("#")]
                minimum = 16
            else:
                paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", cell.source)]
                paragraphs += [str(point) for _, point in _nnlib(cell).get("rubric", [])]
                pieces = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p)]
                minimum = 30
            for piece in map(_norm, pieces):
                if len(piece) >= minimum and piece not in elsewhere_text and piece not in found:
                    found.append(piece)
        if found:
            snippets[path.stem] = found
    return snippets


def verify_html(htmldir: Path, chapters: Path = CHAPTERS,
                snippets: dict[str, list[str]] | None = None) -> list[str]:
    """Problems found in a built student book: solution blocks or solution text on any page.

    ``snippets``: ``solution_snippets(chapters)`` if already computed.
    """
    pages = sorted(htmldir.rglob("*.html"))
    if not pages:
        return [f"no HTML pages under {htmldir}"]
    if snippets is None:
        snippets = solution_snippets(chapters)
    problems = []
    for page in pages:
        parser = _Text()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        if {"solution", "tag_solution"} & set(parser.classes):
            problems.append(f"{page.relative_to(htmldir)}: contains a solution block")
        text = _norm("".join(parser.parts))
        for stem, pieces in snippets.items():
            for piece in pieces:
                if piece in text:
                    problems.append(f"{page.relative_to(htmldir)}: shows a solution from {stem}: {piece!r}")
    return problems


def verify_pdf(pdf: Path, chapters: Path = CHAPTERS,
               snippets: dict[str, list[str]] | None = None) -> list[str]:
    """Problems found in a student book's PDF (tools/build_pdf.py): a solution's heading or text.

    The text is poppler's pdftotext. A word hyphenated at a line's end is
    looked for both joined and hyphenated, so that a broken line hides nothing.
    """
    proc = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True)
    if proc.returncode != 0:
        return [f"{pdf}: pdftotext failed: {proc.stderr.strip()}"]
    if snippets is None:
        snippets = solution_snippets(chapters)
    raw = proc.stdout
    problems = [f"{pdf.name}: page {raw[:m.start()].count(chr(12)) + 1} has the heading {m.group(0)!r}"
                for m in re.finditer(r"Solution to Exercise [\d.]+", raw)]
    texts = [_norm(re.sub(r"-\n", "", raw)), _norm(re.sub(r"-\n", "-", raw))]
    for stem, pieces in snippets.items():
        for piece in pieces:
            if any(piece in text for text in texts):
                problems.append(f"{pdf.name}: shows a solution from {stem}: {piece!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", nargs="?", type=Path, help="folder for the student notebooks")
    parser.add_argument("--book-source", type=Path, metavar="DIR",
                        help="write a jupyter-book source tree of the student book into DIR (replaced)")
    parser.add_argument("--verify-html", type=Path, metavar="HTMLDIR",
                        help="check a built student book: exit 1 if any page shows a solution")
    parser.add_argument("--verify-pdf", type=Path, metavar="PDF",
                        help="check a student book's PDF (tools/build_pdf.py): exit 1 if it shows a solution")
    parser.add_argument("--chapters", type=Path, default=CHAPTERS, help="folder of the instructor notebooks")
    parser.add_argument("--only", metavar="CHAPTERS",
                        help="only these chapters, for a week's hand-out: numbers or ranges, e.g. 1,2 or 3-5")
    parser.add_argument("--no-nnlib", action="store_true",
                        help="do not copy the nnlib package, requirements.txt and a README next to the notebooks")
    parser.add_argument("--language", choices=sorted(LANGUAGES), default="en",
                        help="the notebooks' language: en (default) or zh, Chinese, translated from the "
                             "Chinese edition's catalogs (locale/zh_CN/)")
    args = parser.parse_args(argv)
    if sum(x is not None for x in (args.outdir, args.book_source, args.verify_html, args.verify_pdf)) != 1:
        parser.error("give exactly one of OUTDIR, --book-source DIR, --verify-html HTMLDIR, --verify-pdf PDF")
    if args.language != "en" and args.outdir is None:
        parser.error("--language goes with OUTDIR only (the Chinese student book: make student-book builds it)")

    for built, verify in ((args.verify_html, verify_html), (args.verify_pdf, verify_pdf)):
        if built is None:
            continue
        snippets = solution_snippets(args.chapters)
        problems = verify(built, args.chapters, snippets)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            return 1
        n = sum(len(v) for v in snippets.values())
        print(f"{built}: no solution blocks, none of {n} pieces of solutions appears")
        return 0

    try:
        if args.book_source is not None:
            reports = write_book_source(args.book_source)
            outdir = args.book_source
        else:
            reports = write_edition(args.outdir, args.chapters, with_nnlib=not args.no_nnlib, only=args.only,
                                    language=args.language)
            outdir = args.outdir
    except (ValueError, FileNotFoundError) as exc:   # ExerciseFormatError included; a missing catalog
        print(f"student_edition: {exc}", file=sys.stderr)
        return 1
    total = sum(len(r.exercises) for r in reports.values())
    for name, r in reports.items():
        line = (f"{name:28s} {len(r.exercises):2d} exercises, {r.solution_cells:2d} solution cells removed, "
                f"{r.check_cells:2d} check cells")
        if r.language != "en":
            line += f"; {r.language}: {r.translated} of {r.translated + len(r.untranslated)} prose blocks translated"
        print(line)
    print(f"Student edition of {len(reports)} notebooks ({total} exercises) written to {outdir}")
    untranslated = [(name, block) for name, r in reports.items() for block in r.untranslated]
    kept = [(name, block) for name, r in reports.items() for block in r.kept]
    if args.language != "en":
        print(f"Not translated (no translation in the catalog, left in English): {len(untranslated) or 'none'}")
        for name, block in untranslated:
            print(f"  {name}, {_short(block)}")
        print(f"Translated as they are in English (names, no Chinese in the translation): {len(kept) or 'none'}")
        for name, block in kept:
            print(f"  {name}, {_short(block)}")
    return 0


def _short(text: str, width: int = 110) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
