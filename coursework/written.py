"""Written answers: collected from the notebooks, marked by the teacher against a rubric, counted in the sheet.

The written exercises are the chapters' exercises that have no checker (no
entry in :data:`coursework.registry.EXERCISES`). Their statements and
rubrics come from the teacher's notebooks in ``chapters/``: a rubric is a
list of ``[marks, point]`` pairs in the metadata of the solution's first
cell (``metadata["nnlib"]["rubric"]``), which the student edition drops with
the solution.

A student's answer is read from the submitted notebook's JSON, never run:
the cells the student edition tagged with the exercise's label
(``metadata["coursework"]["answer"]``), or else the markdown cells that
follow the statement (tagged ``["exercise"]``) up to the next heading or
code cell. The class checker writes, per student, one page with every
written answer beside its rubric (``written/<student>.md``), and a marks
sheet (``written-marks.csv``) for the teacher to fill in; the marks in it
go into the gradebook and the feedback the next time the sheet is written.
The teacher's marks and comments in a marks sheet are never changed: a run
only adds the rows of new answers (it reads commas, semicolons or tabs
between the cells, and writes commas).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .registry import EXERCISES
from .student_edition import (ANSWER_PLACEHOLDER, ANSWER_PLACEHOLDER_ZH, CHAPTERS, chapter_notebooks,
                              chapter_number, find_directive, split_title)

MAX_ANSWER_CHARS = 20_000
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
MARKS_FILE = "written-marks.csv"
MARKS_HEADER = ["student_id", "label", "marks", "out of", "comment"]
# An answer left as handed out, in the English or the Chinese student edition (--language zh).
_PLACEHOLDERS = {ANSWER_PLACEHOLDER, ANSWER_PLACEHOLDER_ZH}


@dataclass(frozen=True)
class Written:
    label: str
    chapter: int
    title: str
    statement: str
    rubric: tuple[tuple[float, str], ...]

    @property
    def out_of(self) -> float:
        return sum(marks for marks, _ in self.rubric)


def written_exercises(chapters: Path = CHAPTERS) -> dict[str, Written]:
    """label -> Written, in book order, for every exercise of the teacher's notebooks without a checker."""
    found: dict[str, Written] = {}
    for path in chapter_notebooks(chapters):
        nb = nbformat.read(path, as_version=4)
        chapter = int(re.match(r"\d+", path.stem).group()) if re.match(r"\d+", path.stem) else 0
        pending: dict[str, tuple[str, str]] = {}
        solution_of: str | None = None
        for cell in nb.cells:
            directive = find_directive(cell.source) if cell.cell_type == "markdown" else None
            if directive is not None and directive.name in ("exercise", "exercise-start"):
                label = directive.options.get("label", "")
                if label and label not in EXERCISES:
                    pending[label] = split_title(directive)
            elif directive is not None and directive.name == "solution-start":
                solution_of = directive.arg
            elif directive is not None and directive.name == "solution-end":
                solution_of = None
            elif solution_of in pending and "rubric" in cell.get("metadata", {}).get("nnlib", {}):
                title, statement = pending.pop(solution_of)
                rubric = tuple((float(marks), str(point)) for marks, point in cell.metadata["nnlib"]["rubric"])
                found[solution_of] = Written(solution_of, chapter, title, statement, rubric)
        if pending:
            raise ValueError(f"{path.name}: written exercise(s) without a rubric: {', '.join(pending)} "
                             '(metadata["nnlib"]["rubric"] on the first cell of the solution)')
    return found


def exercise_order(chapters: Path = CHAPTERS) -> list[str]:
    """Every exercise's label, coding and written, in the order of the teacher's notebooks."""
    order = list(exercise_titles(chapters))   # in the order the notebooks give them
    return order + [label for label in EXERCISES if label not in order]


def exercise_titles(chapters: Path = CHAPTERS) -> dict[str, str]:
    """label -> the heading the student edition gives the exercise, "Exercise 1.1: A neuron's forward pass"."""
    titles: dict[str, str] = {}
    for path in chapter_notebooks(chapters):
        k = 0
        for cell in nbformat.read(path, as_version=4).cells:
            directive = find_directive(cell.source) if cell.cell_type == "markdown" else None
            if directive is not None and directive.name in ("exercise", "exercise-start"):
                k += 1
                title = split_title(directive)[0]
                number = f"{chapter_number(path)}.{k}"
                label = directive.options.get("label", "")
                if label and label not in titles:
                    titles[label] = f"Exercise {number}: {title}" if title else f"Exercise {number}"
    return titles


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tag(cell: dict, key: str) -> str | None:
    meta = cell.get("metadata")
    tag = meta.get("coursework") if isinstance(meta, dict) else None
    value = tag.get(key) if isinstance(tag, dict) else None
    return value if isinstance(value, str) else None


def _added_to_statement(text: str, statement: str) -> str:
    """What a student typed into the statement's own cell, after or before the statement ("" if nothing,
    or if the statement itself was edited so that the two cannot be told apart)."""
    words = lambda t: " ".join(t.split())   # noqa: E731
    body = words("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    said = words(statement)
    return body.replace(said, "", 1).strip() if said and said in body else ""


def collect(path: Path, labels: list[str] | tuple[str, ...],
            statements: dict[str, str] | None = None) -> dict[str, str]:
    """label -> the student's written answer, for the written exercises of ``labels`` that the notebook holds.

    An exercise whose statement or answer cell is in the notebook is there, with
    "" for an answer left as handed out. With ``statements`` (label -> the
    statement's text), text typed into the statement's own cell counts too. A
    notebook that cannot be read gives {}.
    """
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return {}
        cells = json.loads(path.read_bytes())["cells"]
        if not isinstance(cells, list):
            return {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    cells = [c for c in cells if isinstance(c, dict)]
    tagged: dict[str, list[str]] = {}
    statement_at: dict[str, int] = {}
    for i, cell in enumerate(cells):
        label = _tag(cell, "answer")
        if label in labels:
            tagged.setdefault(label, []).append(_text(cell))
        label = _tag(cell, "exercise")
        if label in labels:
            statement_at.setdefault(label, i)
    answers: dict[str, str] = {}
    for label in labels:
        added = ""
        if label in statement_at and statements and label in statements:
            added = _added_to_statement(_text(cells[statement_at[label]]), statements[label])
        if label in tagged:
            parts = [added, *tagged[label]]
        elif label in statement_at:   # the tagged cell was deleted: what follows the statement
            parts = [added]
            for cell in cells[statement_at[label] + 1:]:
                text = _text(cell)
                if cell.get("cell_type") != "markdown" or text.lstrip().startswith("#") or _tag(cell, "exercise"):
                    break
                parts.append(text)
        else:
            continue
        text = "\n\n".join(p.strip() for p in parts if p.strip() and p.strip() not in _PLACEHOLDERS)
        answers[label] = text if len(text) <= MAX_ANSWER_CHARS else text[:MAX_ANSWER_CHARS] + "\n[... cut]"
    return answers


# --------------------------------------------------------------------------- the teacher's files

def read_table(path: Path) -> list[list[str]]:
    """The rows of a CSV file a teacher wrote, with commas, semicolons (a spreadsheet set to a
    language whose decimal mark is the comma) or tabs between the cells; blank rows dropped."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:   # a single column: no delimiter to find
        dialect = csv.excel
    rows = csv.reader(text.splitlines(), dialect)
    return [[cell.strip() for cell in row] for row in rows if any(cell.strip() for cell in row)]


# --------------------------------------------------------------------------- the teacher's marks

def read_marks(path: Path, written: dict[str, Written]) -> dict[tuple[str, str], tuple[float | None, str]]:
    """(student_id, label) -> (marks or None when not marked yet, comment), checked against the rubrics."""
    table = read_table(path)
    header = [h.lower() for h in table[0]] if table else []
    if not {"student_id", "label", "marks"} <= set(header):
        raise ValueError(f"{path}: the first row must name the columns {', '.join(MARKS_HEADER)} "
                         "(save the sheet as CSV, keeping its first row)")
    marks: dict[tuple[str, str], tuple[float | None, str]] = {}
    for number, cells in enumerate(table[1:], start=2):
        row = dict(zip(header, cells))
        sid, label = row.get("student_id", ""), row.get("label", "")
        if sid[:1] == "'" and sid[1:2] in ("=", "+", "-", "@"):   # as written, safe for a spreadsheet
            sid = sid[1:]
        if not sid and not label:
            continue
        if label not in written:
            raise ValueError(f"{path}, line {number}: {label!r} is not a written exercise")
        text = row.get("marks", "").replace(",", ".")   # 1,5 as a spreadsheet may write it
        value = None
        if text:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{path}, line {number}: the marks {text!r} are not a number") from None
            if not 0 <= value <= written[label].out_of:
                raise ValueError(f"{path}, line {number}: {text} marks for {label}, which is out of "
                                 f"{written[label].out_of:g}")
        marks[(sid, label)] = (value, row.get("comment", ""))
    return marks


def marks_rows(wanted: list[tuple[str, str]], written: dict[str, Written],
               kept: dict[tuple[str, str], tuple[float | None, str]]) -> list[list[str]]:
    """The marks sheet: a row for every (student_id, label) wanted, the teacher's marks and comments kept,
    then the rows of the old sheet that are no longer wanted (never dropped)."""
    rows = [MARKS_HEADER]
    for key in [*wanted, *(k for k in kept if k not in wanted)]:
        value, comment = kept.get(key, (None, ""))
        rows.append([key[0], key[1], "" if value is None else f"{value:g}", f"{written[key[1]].out_of:g}", comment])
    return rows


def _fence(text: str) -> str:
    """A fence longer than any run of backticks in ``text``: the answer shows as typed, never as markup."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def marking_page(student_id: str, name: str, labels: list[str], written: dict[str, Written],
                 answers: dict[str, str | None],
                 marks: dict[tuple[str, str], tuple[float | None, str]]) -> str:
    """One student's written answers, each beside its rubric and the marks given so far (Markdown)."""
    title = f"{name} ({student_id})" if name else student_id
    lines = [f"# Written answers: {title}", "",
             f"Enter the marks in `{MARKS_FILE}` (columns marks and comment), then run the class checker "
             "again with `--sheet-only` to put them into the gradebook and the feedback.", ""]
    for label in labels:
        w = written[label]
        lines += [f"## {label}: {w.title}", "", w.statement, ""]
        answer = answers.get(label)
        if answer is None:
            lines += ["*Not in any notebook the student handed in.*", ""]
        elif not answer:
            lines += ["*No answer written.*", ""]
        else:
            fence = _fence(answer)
            lines += ["Answer:", "", fence + "text", answer, fence, ""]
        lines += [f"Rubric (out of {w.out_of:g}):", ""]
        lines += [f"- [ ] ({marks_:g}) {point}" for marks_, point in w.rubric]
        value, comment = marks.get((student_id, label), (None, ""))
        lines += ["", f"Marks: {'not marked yet' if value is None else f'{value:g} of {w.out_of:g}'}"
                  + (f"; comment: {comment}" if comment else ""), ""]
    return "\n".join(lines)


__all__ = ["MARKS_FILE", "Written", "collect", "exercise_order", "exercise_titles", "marking_page", "marks_rows", "read_marks", "read_table", "written_exercises"]
