"""Build the book as a PDF (`make pdf`): the teacher's book and the student edition.

    python tools/build_pdf.py [--edition book|student|both] [--language en|zh|both] [--out _build/pdf]

Each edition goes through Sphinx's LaTeX builder (jupyter-book's `--builder latex`,
strict, from the same sources and stored outputs as the HTML book) and then
xelatex (latexmk, with xindy for the index), into OUT/book.pdf and
OUT/student-book.pdf, and their Chinese editions (tools/i18n.py: the same
sources read through locale/zh_CN/) into OUT/book-zh.pdf and
OUT/student-book-zh.pdf. The student edition is the source tree that
`make student-book` builds (coursework/student_edition.py, no solutions, the
notebooks executed by the build); its PDF is then scanned for solutions as the
student HTML book is.

The LaTeX settings are in _config.yml (latex_*) and book_ext/latex/. Sphinx's
-W does not see what xelatex reports, so the log is read here: a character
missing from every font (it would print as nothing) fails the build.

Needs TeX Live's xelatex, latexmk, xindy, rsvg-convert, poppler's pdftotext
and the fonts: `make pdf-tools` installs them from Debian's packages.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TOOLS = ("xelatex", "latexmk", "xindy", "rsvg-convert", "pdftotext", "pdfinfo")
PDF_NAMES = {"book": "book.pdf", "student": "student-book.pdf"}
_MISSING = re.compile(r"^Missing character: There is no (.+?) in font (.+?)!", re.MULTILINE)


class PdfBuildError(RuntimeError):
    pass


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _run(cmd: list[str], what: str, cwd: Path = ROOT, env: dict | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = "\n".join(out.splitlines()[-40:])
        raise PdfBuildError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return out


def latex_problems(log: str) -> list[str]:
    """What xelatex's log says is wrong with the PDF although it was written."""
    missing = sorted({f"{char} (U+{ord(char[0]):04X}) in {font}" if len(char) == 1 else f"{char} in {font}"
                      for char, font in _MISSING.findall(log)})
    return [f"no glyph for {m}: it prints as nothing" for m in missing]


def pdf_name(edition: str, language: str = "en") -> str:
    return PDF_NAMES[edition] if language == "en" else PDF_NAMES[edition].replace(".pdf", f"-{language}.pdf")


def build(edition: str, out: Path, work: Path | None = None, language: str = "en") -> Path:
    """Build one edition's PDF into ``out``, in English or Chinese (``zh``); return its path.
    Raises PdfBuildError."""
    if edition not in PDF_NAMES:
        raise ValueError(f"edition must be one of {sorted(PDF_NAMES)}, not {edition!r}")
    lacking = missing_tools()
    if lacking:
        raise PdfBuildError(f"missing {', '.join(lacking)}: run `make pdf-tools` (Debian's TeX Live, "
                            "poppler-utils, librsvg2-bin and fonts)")
    work = (work or ROOT / "_build" / "pdf-work").resolve()
    if edition == "book":
        source, output = ROOT, work / "book"
    else:
        source, output = work / "student-src", work / "student"
        if language == "en" or not (source / "_config.yml").is_file():
            _run([sys.executable, "-m", "coursework.student_edition", "--book-source", str(source)],
                 "writing the student edition's source")
    if language != "en":
        output = output.with_name(f"{output.name}-{language}")
    latex = output / "_build" / "latex"
    # From scratch: book_ext/latex_setting.py numbers exercises and figures in
    # steps of a build that reads every document.
    shutil.rmtree(output / "_build", ignore_errors=True)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    if language == "en":
        _run([str(jupyter_book), "build", str(source), "--builder", "latex", "--path-output", str(output),
              "-W", "-n", "--keep-going"], f"the LaTeX build of the {edition} edition")
    else:
        _run([sys.executable, str(ROOT / "tools" / "i18n.py"), "build", "--builder", "latex", "--source",
              str(source), "--out", str(output)], f"the Chinese LaTeX build of the {edition} edition")
    # latexmk with xelatex straight to PDF; -halt-on-error: a LaTeX error stops it.
    env = dict(os.environ, LATEXOPTS="-halt-on-error")
    try:
        _run(["make", "-C", str(latex), "all-pdf", "LATEXMKOPTS=-xelatex -silent"], "xelatex", env=env)
    except PdfBuildError as err:
        logs = sorted(latex.glob("*.log"))
        errors = [line for log in logs for line in log.read_text(errors="replace").splitlines()
                  if line.startswith("!")]
        raise PdfBuildError(f"{err}\nLaTeX errors: {errors[:10]}") from None
    problems = latex_problems((latex / "book.log").read_text(encoding="utf-8", errors="replace"))
    if problems:
        raise PdfBuildError(f"{edition} edition, {latex / 'book.log'}:\n  " + "\n  ".join(problems))
    out.mkdir(parents=True, exist_ok=True)
    pdf = out / pdf_name(edition, language)
    shutil.copyfile(latex / "book.pdf", pdf)
    if edition == "student":
        # The scan of the student HTML book, on the PDF's text (coursework/student_edition.py).
        _run([sys.executable, "-m", "coursework.student_edition", "--verify-pdf", str(pdf)],
             "the scan of the student edition's PDF for solutions")
    return pdf


def pages(pdf: Path) -> int:
    info = _run(["pdfinfo", str(pdf)], "pdfinfo")
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edition", choices=["book", "student", "both"], default="both")
    parser.add_argument("--language", choices=["en", "zh", "both"], default="both")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf")
    args = parser.parse_args(argv)
    editions = ["book", "student"] if args.edition == "both" else [args.edition]
    languages = ["en", "zh"] if args.language == "both" else [args.language]
    for edition, language in [(e, lang) for e in editions for lang in languages]:
        start = time.perf_counter()
        try:
            pdf = build(edition, args.out, language=language)
        except PdfBuildError as err:
            print(err, file=sys.stderr)
            return 1
        print(f"{pdf.relative_to(ROOT) if pdf.is_relative_to(ROOT) else pdf}: {pages(pdf)} pages, "
              f"built in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
