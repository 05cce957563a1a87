"""From graded notebooks to what a teacher hands back: a gradebook row per student, a feedback file each.

*Students.* A notebook in a sub-folder belongs to the student the folder is
named after (``submissions/alice/01_neurons.ipynb`` is alice's); a notebook
directly in the submissions folder to the student its file name starts with
(``alice_01_neurons.ipynb``, ``alice.ipynb``: the longest ID of the class
list it starts with, else up to the first ``_`` or ``.``).
A class list (``--class-list``: a CSV file with an ``id`` column and,
optionally, a ``name`` column, or one ID per line) adds the students who
handed in nothing and flags folders that are not on it; its IDs match
folders and file names regardless of case.

*Points.* Every coding exercise is worth one point unless a points file
(``--points``: CSV with ``label,points``) says otherwise; an exercise earns
its points on PASS only. A written exercise is worth the marks of its
rubric and earns the marks the teacher gives (:mod:`coursework.written`).
When a student handed in several notebooks that contain the same exercise,
the best verdict counts.

*Files* (in the output folder, written by :mod:`coursework.check_submissions`):
``gradebook.csv`` (student ID, name, points per exercise, per chapter,
total), ``notebooks.csv`` (one row per notebook, every status and its
detail), ``feedback/<student>.md`` (each exercise's verdict with its full
hint, to hand back) and ``results.json`` (:func:`record`: the run's verdicts,
from which the sheet can be written again).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .grading import Result
from .protocol import (ERROR, FAIL, MISSING, NOT_DONE, NOT_RUN, PASS, SYNTAX_ERROR, TAMPERED, TIMED_OUT, UNREADABLE,
                       Verdict)
from .registry import EXERCISES
from .written import Written, read_table

# Which verdict counts when a student's notebooks disagree: the best, in this order.
_RANK = [PASS, FAIL, ERROR, NOT_DONE, TIMED_OUT, NOT_RUN, SYNTAX_ERROR, MISSING, TAMPERED, UNREADABLE, ""]
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Student:
    id: str
    name: str = ""
    notebooks: list[Result] = field(default_factory=list)
    on_list: bool = True

    def verdict(self, label: str) -> Verdict | None:
        """The best verdict of ``label`` among the student's notebooks (None: in none of them)."""
        found = [r.verdicts[label] for r in self.notebooks if label in r.verdicts]
        if not found:
            unreadable = self.unreadable(label)
            if unreadable:   # it may have held the exercise: say so rather than "not handed in"
                return Verdict(label, UNREADABLE, f"{unreadable.submission}: " + "; ".join(unreadable.notes))
            return None
        return min(found, key=lambda v: _RANK.index(v.status) if v.status in _RANK else len(_RANK))

    def unreadable(self, label: str) -> Result | None:
        """An unreadable notebook of the student's that may hold ``label``: its file name names no other
        chapter (``02_layers.ipynb`` holds chapter 2's exercises only)."""
        chapter = int(label[3:5]) if label[3:5].isdigit() else None
        for r in self.notebooks:
            named = re.match(r"(?:.*_)?0*(\d+)_", r.submission.rsplit("/", 1)[-1])
            if r.unreadable and (named is None or chapter is None or int(named[1]) == chapter):
                return r
        return None

    def answer(self, label: str) -> str | None:
        """The student's written answer to ``label`` (None: in no notebook; the first one written wins)."""
        found = [r.written[label] for r in self.notebooks if label in r.written]
        return next((a for a in found if a), found[0] if found else None)


def student_of(submission: str, known: list[str] | tuple[str, ...] = ()) -> str:
    """The student a notebook (its path relative to the submissions folder) belongs to.

    A file directly in the folder belongs to the longest ID of ``known`` (the
    class list) that its name starts with, followed by ``_`` or ``.``; else to
    the part of its name before the first ``_`` or ``.``.
    """
    parts = submission.split("/")
    if len(parts) > 1:
        return parts[0]
    listed = [sid for sid in known if re.match(re.escape(sid) + r"[_.]", parts[0], re.IGNORECASE)]
    if listed:
        return max(listed, key=len)
    return re.split(r"[_.]", parts[0], maxsplit=1)[0] or parts[0]


def read_class_list(path: Path) -> list[tuple[str, str]]:
    """(id, name) for every student of a class list: CSV with an id column (and a name column), or one ID per line."""
    rows = read_table(path)
    if not rows:
        raise ValueError(f"{path}: the class list is empty")
    header = [c.strip().lower() for c in rows[0]]
    if "id" in header:
        i, n = header.index("id"), header.index("name") if "name" in header else None
        students = [(r[i].strip(), r[n].strip() if n is not None and n < len(r) else "") for r in rows[1:] if len(r) > i]
    else:
        students = [(r[0].strip(), "") for r in rows]
    ids = [s for s, _ in students]
    duplicates = sorted({s for s in ids if ids.count(s) > 1})
    if duplicates:
        raise ValueError(f"{path}: IDs listed twice: {', '.join(duplicates)}")
    return [s for s in students if s[0]]


def read_points(path: Path) -> dict[str, float]:
    """label -> points from a CSV file of ``label,points`` rows (a header row is allowed)."""
    points: dict[str, float] = {}
    for row in read_table(path):
        if not row[0] or row[0].lower() == "label":
            continue
        label = row[0].strip()
        if label not in EXERCISES:
            raise ValueError(f"{path}: {label!r} is not a coding exercise (they are named like ex-01-neuron-forward; "
                             "a written exercise is worth the marks of its rubric)")
        try:
            value = float(row[1].replace(",", "."))
        except (IndexError, ValueError):
            raise ValueError(f"{path}: the points of {label} are not a number") from None
        if value < 0:
            raise ValueError(f"{path}: the points of {label} are negative")
        points[label] = value
    return points


def students(results: list[Result], class_list: list[tuple[str, str]] | None) -> list[Student]:
    """One Student per student: those on the class list (in its order) first, then the others found."""
    by_id: dict[str, Student] = {}
    for sid, name in class_list or []:
        by_id[sid] = Student(sid, name)
    known = [sid for sid, _ in class_list or []]
    listed_as = {sid.casefold(): sid for sid in known}   # a folder "Quinn" is quinn of the class list
    for r in results:
        sid = student_of(r.submission, known)
        sid = listed_as.get(sid.casefold(), sid)
        if sid not in by_id:
            by_id[sid] = Student(sid, on_list=class_list is None)
        by_id[sid].notebooks.append(r)
    listed = [by_id[sid] for sid, _ in class_list or []]
    others = sorted((s for sid, s in by_id.items() if s not in listed), key=lambda s: s.id)
    return listed + others


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass
class Scheme:
    """How a sheet counts: points of the coding exercises, rubrics of the written ones, the teacher's marks."""

    points: dict[str, float] = field(default_factory=dict)          # label -> points (1 by default)
    written: dict[str, Written] = field(default_factory=dict)       # label -> written exercise
    marks: dict[tuple[str, str], tuple[float | None, str]] = field(default_factory=dict)   # (id, label) ->
    titles: dict[str, str] = field(default_factory=dict)            # label -> "Exercise 1.1: A neuron's ..."

    def title(self, label: str) -> str:
        """How the student knows the exercise: its heading in the notebook, with its label (and "written")."""
        kind = ", written" if label in self.written else ""
        return f"{self.titles[label]} ({label}{kind})" if label in self.titles else f"{label}{kind}"

    def chapter(self, label: str) -> int:
        return self.written[label].chapter if label in self.written else EXERCISES[label].chapter

    def worth(self, label: str) -> float:
        return self.written[label].out_of if label in self.written else self.points.get(label, 1.0)

    def earned(self, student: Student, label: str) -> float:
        if label in self.written:
            return self.marks.get((student.id, label), (None, ""))[0] or 0.0
        v = student.verdict(label)
        return self.worth(label) if v is not None and v.status == PASS else 0.0

    def status(self, student: Student, label: str) -> str:
        """What the printed sheet shows: a verdict's status; for a written answer its marks, or what to do."""
        if label not in self.written:
            v = student.verdict(label)
            return v.status if v is not None else "-"
        value = self.marks.get((student.id, label), (None, ""))[0]
        answer = student.answer(label)
        if value is not None:
            return f"{_number(value)}/{_number(self.worth(label))}"
        if answer is None:
            return UNREADABLE if student.unreadable(label) else "-"
        return "TO MARK" if answer else "NO ANSWER"


def gradebook_rows(class_: list[Student], columns: list[str], scheme: Scheme) -> list[list[str]]:
    chapters = sorted({scheme.chapter(label) for label in columns})
    header = ["student_id", "name", *columns, *[f"chapter {c}" for c in chapters], "total", "out of", "notes"]
    rows = [header]
    out_of = sum(scheme.worth(label) for label in columns)
    for s in class_:
        earned = {label: scheme.earned(s, label) for label in columns}
        notes = []
        if not s.notebooks:
            notes.append("handed in nothing")
        if not s.on_list:
            notes.append("not on the class list")
        to_mark = [label for label in columns if scheme.status(s, label) == "TO MARK"]
        if to_mark:
            notes.append(f"written answers to mark: {', '.join(to_mark)}")
        notes += [f"{r.submission}: {n}" for r in s.notebooks for n in r.notes]
        per_chapter = [sum(earned[label] for label in columns if scheme.chapter(label) == c) for c in chapters]
        # An answer still to mark is a blank cell, not a 0 that a gradebook would take for a mark.
        cells = ["" if label in to_mark else _number(earned[label]) for label in columns]
        rows.append([s.id, s.name, *cells, *map(_number, per_chapter),
                     _number(sum(earned.values())), _number(out_of), "; ".join(notes)])
    return rows


def feedback(student: Student, columns: list[str], scheme: Scheme) -> str:
    """The Markdown page handed back to one student: every exercise's verdict, detail and hints, and marks."""
    title = f"{student.name} ({student.id})" if student.name else student.id
    lines = [f"# Feedback: {title}", ""]
    if not student.notebooks:
        return "\n".join(lines + ["No notebook was handed in.", ""])
    lines += ["Handed in: " + ", ".join(f"`{r.submission}`" for r in student.notebooks), ""]
    for r in student.notebooks:
        for note in r.notes:
            lines.append(f"- `{r.submission}`: {note}")
    if any(r.notes for r in student.notebooks):
        lines.append("")
    total = 0.0
    for label in columns:
        worth, got = scheme.worth(label), scheme.earned(student, label)
        total += got
        if label in scheme.written:
            value, comment = scheme.marks.get((student.id, label), (None, ""))
            head = f"## {scheme.title(label)}"
            if value is not None:
                lines += [f"{head}: {_number(value)} of {_number(worth)}", ""] + ([comment, ""] if comment else [])
            elif student.answer(label) is None:
                lines += [f"{head}: {'the notebook could not be read' if student.unreadable(label) else 'not handed in'}",
                          ""]
            elif not student.answer(label):
                lines += [f"{head}: no answer written (0 of {_number(worth)})", ""]
            else:
                lines += [f"{head}: not marked yet (out of {_number(worth)})", ""]
            continue
        v = student.verdict(label)
        if v is None:
            lines += [f"## {scheme.title(label)}: not handed in", ""]
            continue
        lines += [f"## {scheme.title(label)}: {v.status} ({_number(got)} of {_number(worth)})", "", v.detail, ""]
        if v.hints:
            lines += ["```text", *v.hints, "```", ""]
    lines += [f"**Total: {_number(total)} of {_number(sum(scheme.worth(label) for label in columns))}**", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run's record

def record(results: list[Result]) -> str:
    """results.json: every notebook's verdicts, notes and written answers, so that the sheet can be
    written again (new marks, points, class list) or a few notebooks re-run without running them all."""
    return json.dumps({"format": "coursework-results", "version": 1, "results": [
        {"submission": r.submission, "notes": r.notes, "unreadable": r.unreadable, "timed_out": r.timed_out,
         "written": r.written,
         "verdicts": [{"label": v.label, "status": v.status, "detail": v.detail, "hints": list(v.hints)}
                      for v in r.verdicts.values()]} for r in results]}, indent=1, ensure_ascii=False) + "\n"


def read_record(path: Path) -> list[Result]:
    """The results of an earlier run, from its results.json (ValueError if the file is not one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != "coursework-results" or data.get("version") != 1:
            raise ValueError("not a results file of the class checker")
        return [Result(r["submission"], {v["label"]: Verdict(v["label"], v["status"], v["detail"], list(v["hints"]))
                                         for v in r["verdicts"]},
                       list(r["notes"]), 0.0, bool(r["unreadable"]), dict(r["written"]),
                       timed_out=bool(r["timed_out"]))
                for r in data["results"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: cannot be read as the results of an earlier run ({exc})") from None


def safe_file_name(student_id: str) -> str:
    name = _SAFE_ID.sub("_", student_id).strip("._") or "student"
    return name[:80]


__all__ = ["Scheme", "Student", "feedback", "gradebook_rows", "read_class_list", "read_points", "read_record",
           "record", "safe_file_name", "student_of", "students", "TAMPERED"]
