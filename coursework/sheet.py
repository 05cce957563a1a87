"""From graded notebooks to what a teacher hands on: a gradebook row per student, a feedback file each.

*Students.* A notebook in a sub-folder belongs to the student the folder is
named after (``submissions/alice/01_neurons.ipynb`` is alice's); a notebook
directly in the submissions folder to the student its file name starts with
(``alice_01_neurons.ipynb``, ``alice.ipynb``: the longest ID of the class
list it starts with, else up to the first ``_`` or ``.``).
A class list (``--class-list``: a CSV file with an ``id`` column and,
optionally, a ``name`` column, or one ID per line) adds the students who
handed in nothing and flags folders that are not on it.

*Points.* Every coding exercise is worth one point unless a points file
(``--points``: CSV with ``label,points``) says otherwise; an exercise earns
its points on PASS only. When a student handed in several notebooks that
contain the same exercise, the best verdict counts.

*Files* (in the output folder): ``gradebook.csv`` (student ID, name, points
per exercise, per chapter, total), ``notebooks.csv`` (one row per notebook,
every status and its detail) and ``feedback/<student>.md`` (each exercise's
verdict with its full hint, to hand back).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from .grading import Result
from .protocol import (ERROR, FAIL, MISSING, NOT_DONE, NOT_RUN, PASS, SYNTAX_ERROR, TAMPERED, TIMED_OUT, UNREADABLE,
                       Verdict)
from .registry import EXERCISES

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
            unreadable = [r for r in self.notebooks if r.unreadable]
            if unreadable:   # it may have held the exercise: say so rather than "not handed in"
                return Verdict(label, UNREADABLE, f"{unreadable[0].submission}: " + "; ".join(unreadable[0].notes))
            return None
        return min(found, key=lambda v: _RANK.index(v.status) if v.status in _RANK else len(_RANK))


def student_of(submission: str, known: list[str] | tuple[str, ...] = ()) -> str:
    """The student a notebook (its path relative to the submissions folder) belongs to.

    A file directly in the folder belongs to the longest ID of ``known`` (the
    class list) that its name starts with, followed by ``_`` or ``.``; else to
    the part of its name before the first ``_`` or ``.``.
    """
    parts = submission.split("/")
    if len(parts) > 1:
        return parts[0]
    listed = [sid for sid in known if re.match(re.escape(sid) + r"[_.]", parts[0])]
    if listed:
        return max(listed, key=len)
    return re.split(r"[_.]", parts[0], maxsplit=1)[0] or parts[0]


def read_class_list(path: Path) -> list[tuple[str, str]]:
    """(id, name) for every student of a class list: CSV with an id column (and a name column), or one ID per line."""
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    rows = [r for r in rows if r and any(c.strip() for c in r)]
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
    for row in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()):
        if not row or not row[0].strip() or row[0].strip().lower() == "label":
            continue
        label = row[0].strip()
        if label not in EXERCISES:
            raise ValueError(f"{path}: {label!r} is not an exercise (they are named like ex-01-neuron-forward)")
        try:
            value = float(row[1])
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
    for r in results:
        sid = student_of(r.submission, known)
        if sid not in by_id:
            by_id[sid] = Student(sid, on_list=class_list is None)
        by_id[sid].notebooks.append(r)
    listed = [by_id[sid] for sid, _ in class_list or []]
    others = sorted((s for sid, s in by_id.items() if s not in listed), key=lambda s: s.id)
    return listed + others


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def gradebook_rows(class_: list[Student], columns: list[str], points: dict[str, float]) -> list[list[str]]:
    chapters = sorted({EXERCISES[label].chapter for label in columns})
    header = ["student_id", "name", *columns, *[f"chapter {c}" for c in chapters], "total", "out of", "notes"]
    rows = [header]
    out_of = sum(points.get(label, 1.0) for label in columns)
    for s in class_:
        earned = {}
        for label in columns:
            v = s.verdict(label)
            earned[label] = points.get(label, 1.0) if v is not None and v.status == PASS else 0.0
        notes = []
        if not s.notebooks:
            notes.append("handed in nothing")
        if not s.on_list:
            notes.append("not on the class list")
        notes += [f"{r.submission}: {n}" for r in s.notebooks for n in r.notes]
        per_chapter = [sum(earned[label] for label in columns if EXERCISES[label].chapter == c) for c in chapters]
        rows.append([s.id, s.name, *[_number(earned[label]) for label in columns], *map(_number, per_chapter),
                     _number(sum(earned.values())), _number(out_of), "; ".join(notes)])
    return rows


def feedback(student: Student, columns: list[str], points: dict[str, float]) -> str:
    """The Markdown page handed back to one student: every exercise's verdict, detail and hints."""
    title = f"{student.name} ({student.id})" if student.name else student.id
    lines = [f"# Feedback: {title}", ""]
    if not student.notebooks:
        return "\n".join(lines + ["No notebook was handed in.", ""])
    lines += ["Notebooks: " + ", ".join(f"`{r.submission}`" for r in student.notebooks), ""]
    for r in student.notebooks:
        for note in r.notes:
            lines.append(f"- `{r.submission}`: {note}")
    if any(r.notes for r in student.notebooks):
        lines.append("")
    total = 0.0
    for label in columns:
        v = student.verdict(label)
        worth = points.get(label, 1.0)
        if v is None:
            lines += [f"## {label}: not handed in", ""]
            continue
        got = worth if v.status == PASS else 0.0
        total += got
        lines += [f"## {label}: {v.status} ({_number(got)} of {_number(worth)})", "", v.detail, ""]
        if v.hints:
            lines += ["```text", *v.hints, "```", ""]
    lines += [f"**Total: {_number(total)} of {_number(sum(points.get(label, 1.0) for label in columns))}**", ""]
    return "\n".join(lines)


def safe_file_name(student_id: str) -> str:
    name = _SAFE_ID.sub("_", student_id).strip("._") or "student"
    return name[:80]


__all__ = ["Student", "feedback", "gradebook_rows", "read_class_list", "read_points", "safe_file_name",
           "student_of", "students", "TAMPERED"]
