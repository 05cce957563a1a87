"""The student edition (coursework.student_edition): conversion rules, the real chapters, and a run.

The format is the one in chapters/teaching.md ("Adding an exercise"). The last
test generates the student edition of the book's chapters and executes every
notebook that has exercises from top to bottom: no cell may raise (except those
tagged raises-exception) and every check cell must say NOT DONE YET.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import ROOT
from coursework import EXERCISES
from coursework import student_edition as se
from coursework import written
from tools.requirement_lists import student_requirements

CHAPTERS = ROOT / "chapters"


# --------------------------------------------------------------------------- a fabricated chapter

STUB = 'def double(x):\n    """Twice x."""\n    raise NotImplementedError("write your solution here")'
SOLUTION = 'def double(x):\n    """Twice x."""\n    return x + x  # the reference answer'


def _tag(cell, *tags):
    cell.metadata["tags"] = list(tags)
    return cell


def fabricated_chapter():
    solution = _tag(new_code_cell(SOLUTION, id="sol-code"), "solution")
    solution.metadata["nnlib"] = {"stub": STUB}
    solution.outputs = [new_output("stream", name="stdout", text="secret output\n")]
    solution.execution_count = 7
    extra_text = _tag(new_markdown_cell("The secret library version:", id="extra-md"), "solution")
    extra_code = _tag(new_code_cell("show_source(secret_double)", id="extra-code"), "solution")
    for extra in (extra_text, extra_code):
        extra.metadata["nnlib"] = {"extra": True}
    first = new_code_cell("import numpy as np", id="imports")
    first.outputs = [new_output("stream", name="stdout", text="hello\n")]
    first.execution_count = 1
    cells = [
        new_markdown_cell("# Fake chapter", id="title"),
        first,
        new_markdown_cell("## Exercises", id="exercises"),
        new_markdown_cell("```{exercise}\n:label: ex-99-double\n\n**Doubling.** Write `double(x)` that returns "
                          "$2x$.\n\nMore text.\n```", id="ex1"),
        new_markdown_cell("```{solution-start} ex-99-double\n:class: dropdown\n```", id="s1"),
        solution,
        extra_text,
        extra_code,
        new_markdown_cell("```{solution-end}\n```", id="e1"),
        _tag(new_code_cell("check_double(double)", id="check1"), "check"),
        new_markdown_cell(":::{exercise}\n:label: ex-99-why\n:class: note\n\n**Why twice?** Explain.\n:::", id="ex2"),
        new_markdown_cell("````{solution-start} ex-99-why\n:class: dropdown\n````", id="s2"),
        _tag(new_markdown_cell("Because the secret reference says so.", id="ans1"), "solution"),
        _tag(new_markdown_cell("A second paragraph of the secret answer. Short one.", id="ans2"), "solution"),
        new_markdown_cell("````{solution-end}\n````", id="e2"),
        new_markdown_cell("## Summary\n\n* doubling", id="summary"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_fabricated_chapter_is_converted_as_specified():
    student, report = se.student_notebook(fabricated_chapter(), "9")
    sources = [(c.cell_type, c.source) for c in student.cells]
    assert sources == [
        ("markdown", "# Fake chapter"),
        ("code", "import numpy as np"),
        ("markdown", "## Exercises"),
        ("markdown", "### Exercise 9.1: Doubling\n\nWrite `double(x)` that returns $2x$.\n\nMore text."),
        ("code", STUB),
        ("code", "check_double(double)"),
        ("markdown", "### Exercise 9.2: Why twice?\n\nExplain."),
        ("markdown", "*Write your answer here.*"),
        ("markdown", "## Summary\n\n* doubling"),
    ]
    assert [c.id for c in student.cells] == ["title", "imports", "exercises", "ex1", "sol-code", "check1",
                                             "ex2", "ans1", "summary"]
    code = [c for c in student.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert student.cells[4].metadata == {}                       # no solution tag, no stub left
    assert student.cells[5].metadata["tags"] == ["check"]        # check cells stay
    assert [e.label for e in report.exercises] == ["ex-99-double", "ex-99-why"]
    assert (report.solution_cells, report.check_cells) == (5, 1)   # the two extras leave no trace
    assert se.leaks(student) == []
    nbformat.validate(student)
    text = json.dumps(student)
    assert "secret" not in text and "x + x" not in text


def test_plain_markdown_turns_roles_into_text_and_notes_into_quotes():
    source = ("A {term}`Dense layer <Dense layer>` and an {term}`epoch` ([References](references.md), "
              "[chapter 2](02_layers.ipynb)).\n\n"
              ":::{admonition} Implementation note: speed\n:class: dropdown\n\nFirst line.\n\n$$x$$\n:::\n\nAfter.")
    assert se.plain_markdown(source) == ("A Dense layer and an epoch (References, [chapter 2](02_layers.ipynb)).\n\n"
                                         "> **Implementation note: speed**\n>\n> First line.\n>\n> $$x$$\n\nAfter.")
    assert se.raw_myst(nbformat.v4.new_notebook(cells=[new_markdown_cell(source)])) == [
        "cell 1 holds a MyST role: {term}`", "cell 1 holds a MyST directive"]


def test_figure_references_say_above_or_below_in_the_hand_out():
    figure = new_code_cell("plt.plot(x)", id="fig")
    figure.metadata["mystnb"] = {"figure": {"name": "fig-curve", "caption": "A curve."}}
    nb = fabricated_chapter()
    nb.cells[1:1] = [new_markdown_cell("{numref}`fig-curve` shows the curve; look at {numref}`fig-curve`.", id="a"),
                     figure,
                     new_markdown_cell("As {numref}`Figure %s <fig-curve>` showed, and {numref}`fig-other` too.", id="b")]
    student, _ = se.student_notebook(nb, "9")
    text = {c.id: c.source for c in student.cells}
    assert text["a"] == "The figure below shows the curve; look at the figure below."
    assert text["b"] == "As the figure above showed, and the figure in another chapter of the book too."
    book, _ = se.student_notebook(nb, "9", targets=True)     # the student book keeps the numbered references
    assert {c.id: c.source for c in book.cells}["a"].startswith("{numref}`fig-curve`")


def test_targets_keep_references_resolvable_in_the_student_book():
    student, _ = se.student_notebook(fabricated_chapter(), "9", targets=True)
    assert student.cells[3].source.startswith("(ex-99-double)=\n### Exercise 9.1: Doubling\n")


def test_the_instructor_notebook_is_not_modified():
    nb = fabricated_chapter()
    before = json.dumps(nb, sort_keys=True)
    se.student_notebook(nb, "9")
    assert json.dumps(nb, sort_keys=True) == before


@pytest.mark.parametrize("breakage, message", [
    ("no-stub", "has no stub"),
    ("untagged", 'not tagged "solution"'),
    ("unclosed-solution", "has no solution-end"),
    ("unclosed-fence", "is not closed"),
])
def test_format_errors_are_refused(breakage, message):
    nb = fabricated_chapter()
    if breakage == "no-stub":
        del nb.cells[5].metadata["nnlib"]
    elif breakage == "untagged":
        nb.cells[5].metadata["tags"] = []
    elif breakage == "unclosed-solution":
        del nb.cells[12:]
    elif breakage == "unclosed-fence":
        nb.cells[3].source = nb.cells[3].source.rsplit("```", 1)[0]
    with pytest.raises(se.ExerciseFormatError, match=message):
        se.student_notebook(nb, "9")


def test_verify_html_finds_solution_blocks_and_solution_lines(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    nbformat.write(fabricated_chapter(), chapters / "99_fake.ipynb")
    snippets = se.solution_snippets(chapters)
    # the extras count too: a student book that shows the library's version leaks the answer
    assert snippets == {"99_fake": ["return x + x # the reference answer", "show_source(secret_double)",
                                    "Because the secret reference says so.", "A second paragraph of the secret answer."]}
    html = tmp_path / "html"
    html.mkdir()
    (html / "clean.html").write_text("<p>Exercise 9.1: Doubling</p><pre>raise NotImplementedError</pre>")
    assert se.verify_html(html, chapters) == []
    (html / "block.html").write_text('<div class="solution dropdown admonition"><p>hidden</p></div>')
    (html / "code.html").write_text('<pre><span class="k">return</span> <span>x</span> + x  '
                                    '<span class="c1"># the reference answer</span></pre>')
    problems = se.verify_html(html, chapters)
    assert len(problems) == 2
    assert problems[0].startswith("block.html: contains a solution block")
    assert problems[1].startswith("code.html: shows a solution from 99_fake")


def test_book_source_tree(tmp_path):
    root = tmp_path / "book"
    (root / "chapters" / "images").mkdir(parents=True)
    (root / "_static").mkdir()
    (root / "nnlib").mkdir()
    (root / "_config.yml").write_text('title: "My book"\nauthor: x\n')
    (root / "_toc.yml").write_text("format: jb-book\nroot: chapters/intro\n")
    (root / "chapters" / "intro.md").write_text("# Intro\n")
    (root / "chapters" / "images" / "a.svg").write_text("<svg/>")
    nbformat.write(fabricated_chapter(), root / "chapters" / "01_fake.ipynb")
    out = tmp_path / "student-src"
    reports = se.write_book_source(out, root=root)
    assert list(reports) == ["01_fake.ipynb"]
    config = (out / "_config.yml").read_text()
    assert config.startswith('title: "My book (student edition)"\n')
    assert config.endswith("execute:\n  execute_notebooks: force\n")  # no stored outputs to show
    (root / "_config.yml").write_text('title: "My book"\nexecute:\n  execute_notebooks: "off"\n  timeout: 9\n')
    se.write_book_source(out, root=root)
    assert (out / "_config.yml").read_text() == ('title: "My book (student edition)"\nexecute:\n'
                                                  '  execute_notebooks: force\n  timeout: 9\n')
    assert (out / "_toc.yml").read_text() == (root / "_toc.yml").read_text()
    # the teacher's guide stays out: page, table-of-contents entry, links; and no repository buttons
    (root / "chapters" / "teaching.md").write_text("# Teaching\n\nThe rubrics.\n")
    (root / "chapters" / "intro.md").write_text("# Intro\n\nTeachers check notebooks: see "
                                                "[Teaching with this book](teaching.md). Next.\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: chapters/intro\nparts:\n  - caption: Chapters\n"
                                   "    chapters:\n      - file: chapters/01_fake\n"
                                   "  - caption: Teaching with this book\n    chapters:\n"
                                   "      - file: chapters/teaching\n")
    (root / "_config.yml").write_text('title: "My book"\nrepository:\n  url: "https://github.com/o/n"\n'
                                      '  branch: main\n')
    se.write_book_source(out, root=root)
    assert not (out / "chapters" / "teaching.md").exists()
    assert (out / "_toc.yml").read_text() == ("format: jb-book\nroot: chapters/intro\nparts:\n"
                                              "  - caption: Chapters\n    chapters:\n"
                                              "      - file: chapters/01_fake\n")
    assert (out / "chapters" / "intro.md").read_text() == "# Intro\n\nTeachers check notebooks. Next.\n"
    assert 'url: ""' in (out / "_config.yml").read_text() and "github.com" not in (out / "_config.yml").read_text()
    assert (out / "chapters" / "intro.md").is_file() and (out / "chapters" / "images" / "a.svg").is_file()
    assert (out / "_static").is_symlink() and not (out / "nnlib").exists()
    student = nbformat.read(out / "chapters" / "01_fake.ipynb", as_version=4)
    assert se.leaks(student) == []
    assert "(ex-99-double)=" in student.cells[3].source


# --------------------------------------------------------------------------- the book's chapters

def _exercise_labels(nb) -> list[str]:
    labels = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            d = se.find_directive(cell.source)
            if d is not None and d.name in ("exercise", "exercise-start"):
                labels.append(d.options.get("label", ""))
    return labels


def _functions(source: str) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student-edition")
    reports = se.write_edition(out)
    return out, reports


def test_every_chapter_is_converted(edition):
    out, reports = edition
    notebooks = se.chapter_notebooks()
    assert notebooks and sorted(reports) == [p.name for p in notebooks]
    all_labels = []
    for src in notebooks:
        instructor = nbformat.read(src, as_version=4)
        student = nbformat.read(out / src.name, as_version=4)
        nbformat.validate(student)
        assert se.leaks(student) == [], src.name
        # the exercises' opening speaks to the student: no teacher's edition, no folded solutions
        text = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
        assert se.STUDENT_EXERCISES_INTRO in text, src.name
        assert "teacher's edition" not in text and "folded away" not in text, src.name
        # no MyST left for frontends that do not render it: roles are text, notes block quotes
        assert se.raw_myst(student) == [], src.name
        assert "{term}" not in text and ":::" not in text and "```{" not in text, src.name
        # every link between files leads to a file of the hand-out (not to the book's pages)
        for target in re.findall(r"\]\((?![a-z]+:)([^)#\s]+)", text):
            assert (out / target).exists(), (src.name, target)
        labels = _exercise_labels(instructor)
        all_labels += labels
        chapter = se.chapter_number(src)
        headings = [c.source for c in student.cells if c.cell_type == "markdown"
                    and re.match(rf"### Exercise {chapter}\.\d+", c.source)]
        assert len(headings) == len(labels) == len(reports[src.name].exercises), src.name
        for label in labels:
            assert re.fullmatch(rf"ex-{int(chapter):02d}-[a-z0-9-]+", label), (src.name, label)
        checks = lambda nb: [c.source for c in nb.cells if "check" in c.metadata.get("tags", [])]
        assert checks(student) == checks(instructor), src.name
        # Each stub keeps the solution's signature and docstring, and raises NotImplementedError.
        for cell in instructor.cells:
            if (cell.cell_type == "code" and "solution" in cell.metadata.get("tags", [])
                    and not cell.metadata["nnlib"].get("extra")):
                stub = cell.metadata["nnlib"]["stub"]
                solved, stubbed = _functions(cell.source), _functions(stub)
                assert stubbed, (src.name, stub)
                for name, fn in stubbed.items():
                    assert name in solved, (src.name, name)
                    assert ast.dump(fn.args) == ast.dump(solved[name].args), (src.name, name)
                    assert ast.get_docstring(fn) == ast.get_docstring(solved[name]), (src.name, name)
                    assert "NotImplementedError" in ast.unparse(fn.body[-1]), (src.name, name)
    assert len(all_labels) == len(set(all_labels)), "exercise labels must be unique across the book"
    missing = [label for label in EXERCISES if label not in all_labels]
    assert not missing, f"exercises in coursework.EXERCISES without an exercise in the chapters: {missing}"
    assert (out / "images").is_dir() == (CHAPTERS / "images").is_dir()
    assert (out / "nnlib" / "__init__.py").is_file() and (out / "README.md").is_file()
    # the checkers the check cells import, and none of the teacher's tools
    assert sorted(p.name for p in (out / "coursework").iterdir()) == sorted(se.STUDENT_MODULES)
    # pyproject.toml's ranges (tests/test_requirements.py checks the list itself)
    assert (out / "requirements.txt").read_text(encoding="utf-8") == student_requirements()
    assert "numpy>=" in student_requirements() and "jupyterlab>=" in student_requirements()


def test_every_written_exercise_has_a_rubric_and_an_answer_cell_the_checker_finds(edition):
    out, _ = edition
    exercises = written.written_exercises()
    every = [label for src in se.chapter_notebooks() for label in _exercise_labels(nbformat.read(src, as_version=4))]
    assert list(exercises) == [label for label in every if label not in EXERCISES]
    assert written.exercise_order() == every
    for label, w in exercises.items():
        assert w.rubric and all(marks > 0 and len(point) > 10 for marks, point in w.rubric), label
    handed_out = {}
    for path in sorted(out.glob("*.ipynb")):
        handed_out.update(written.collect(path, list(exercises)))
        for cell in nbformat.read(path, as_version=4).cells:
            assert "rubric" not in json.dumps(cell.metadata), (path.name, cell.metadata)
    assert handed_out == {label: "" for label in exercises}   # every one found, none answered yet
    # The rubric is the teacher's: its sentences count as pieces of the solution.
    rubric = " ".join(point for _, point in exercises["ex-04-dead-unit"].rubric)
    assert any(piece in se._norm(rubric) for piece in se.solution_snippets()["04_training"])


def test_a_weeks_hand_out_holds_only_its_chapters(tmp_path):
    assert [p.name[:2] for p in se.select_chapters("1,2")] == ["01", "02"]
    assert [p.name[:2] for p in se.select_chapters("3-5")] == ["03", "04", "05"]
    with pytest.raises(ValueError, match="no chapter 99"):
        se.select_chapters("99")
    with pytest.raises(ValueError, match="not a chapter number or range"):
        se.select_chapters("one")
    reports = se.write_edition(tmp_path / "week1", only="1", with_nnlib=False)
    assert sorted(reports) == ["01_neurons.ipynb"]
    assert sorted(p.name for p in (tmp_path / "week1").glob("*.ipynb")) == ["01_neurons.ipynb"]


async def _run_all(paths: list[Path], folder: Path, parallel: int = 2):
    from nbclient import NotebookClient

    semaphore = asyncio.Semaphore(parallel)

    async def run(path: Path):
        async with semaphore:
            nb = nbformat.read(path, as_version=4)
            # The kernel imports nnlib and coursework from the edition's folder, as a student's does.
            env = dict(os.environ, PYTHONPATH=str(folder))
            client = NotebookClient(nb, timeout=300, kernel_name="python3",
                                    resources={"metadata": {"path": str(folder)}})
            await client.async_execute(env=env)   # raises on any error not tagged raises-exception
            return nb

    return await asyncio.gather(*(run(p) for p in paths))


def test_student_notebooks_run_and_every_check_says_not_done_yet(edition):
    """Execute the student notebooks that have exercises (the others equal the instructor's
    notebooks without outputs, which nbval already runs)."""
    out, reports = edition
    paths = [out / name for name, r in reports.items() if r.exercises or r.check_cells]
    assert paths, "coursework lists exercises but no chapter has any"
    executed = asyncio.run(_run_all(paths, out))
    said = []
    for path, nb in zip(paths, executed):
        checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
        assert len(checks) == reports[path.name].check_cells
        for cell in checks:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            match = re.match(r"(ex-[\w-]+): NOT DONE YET - ", text)
            assert match, (path.name, cell.source, text)
            said.append(match.group(1))
    assert sorted(said) == sorted(EXERCISES), "every coding exercise has exactly one check cell"


def test_nothing_the_student_receives_holds_a_solution(edition):
    """No piece of a solution in the edition's notebooks, nor in the packages copied beside them
    (nnlib's own code, which the book shows, does not count as a solution)."""
    out, _ = edition
    snippets = se.solution_snippets()
    assert snippets
    texts = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted(out.rglob("*")) if p.is_file() and p.suffix in (".ipynb", ".py", ".md", ".txt")}
    found = [(name, piece) for name, text in texts.items() for stem, pieces in snippets.items()
             for piece in pieces if piece in se._norm(text)]
    assert found == []
