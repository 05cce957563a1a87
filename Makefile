# make book   set everything up (virtual environment in .venv) and build the HTML book
# make test   run the whole test suite: nnlib's tests, strict nbval on every notebook, strict book build
# make lab    open the notebooks in JupyterLab
# make notebooks   re-execute every notebook from a fresh kernel and store its outputs
# make test-ends   the tests at the lowest and the newest versions the ranges allow, under two other CPUs' kernels (CI runs it)
# make kernels     show which notebook outputs differ between CPUs (BLAS kernels), NB=one.ipynb
# make mutation   mutation testing of nnlib against its unit tests, with the score (not in CI)
# make bench  measure nnlib against scikit-learn, a naive implementation and bare NumPy
# make browser      install Debian's chromium (browser test) and bubblewrap (grading sandbox), if missing (CI runs it)
# make screenshots  a full-page PNG of every page of the built book, in _build/screenshots/
# make translations   refresh the Chinese edition's catalogs after changing English prose (locale/zh_CN/)
# make pdf          the book and the student edition as PDFs, in _build/pdf/ (book.pdf, student-book.pdf)
# make pdf-tools    install Debian's TeX Live, fonts and PDF tools for make pdf, if missing (CI runs it)
# make student [ONLY=1,2] [ZH=1]   the student edition of the notebooks (no solutions), in _build/student-edition/;
#                         ZH=1: in Chinese (translated from locale/zh_CN/), in _build/student-edition-zh/
# make student-book  the HTML book without solutions, in _build/student/_build/html/
# make check-submissions DIR=folder [TIMEOUT=300] [CELL_TIMEOUT=60] [JOBS=2] [OUT=folder] [CLASS=students.csv]
#                         [POINTS=points.csv] [EXERCISES='ex-01-*'] [DETAILS=1] [SANDBOX=none] [SHEET_ONLY=1] [RERUN_TIMED_OUT=1]
#                         grade a class's notebooks: gradebook, feedback and written answers per student
#                         (python -m coursework.check_submissions)
# make suggest-limits [JOBS=2]   time the teacher's notebooks and suggest TIMEOUT and CELL_TIMEOUT
# make nbgrader [ONLY=1,2] [OUT=folder] [POINTS=points.csv]   the exercises as an nbgrader course,
#                         in _build/nbgrader/ (python -m coursework.nbgrader_export)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NBG_VENV := .venv-nbgrader
NBG_STAMP := $(NBG_VENV)/.installed
JB_FLAGS := -W -n --keep-going
MATHJAX := _vendor/static/mathjax/tex-mml-chtml.js
# axe-core, the accessibility checker of tests/test_browser.py (not part of the book)
AXE := _vendor/npm/node_modules/axe-core/axe.min.js
# One BLAS thread: at this book's matrix sizes a second thread gains nothing and,
# when the other core is busy, makes small matrix products hundreds of times
# slower. It also keeps the stored notebook outputs reproducible.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: translations book test test-ends kernels lab notebooks build-book bench mutation browser screenshots pdf pdf-tools clean student student-book check-submissions suggest-limits nbgrader

book: $(STAMP) build-book
	@echo
	@echo "The book is built. Open it in a browser:"
	@echo "  file://$(CURDIR)/_build/html/index.html"
	@echo "  file://$(CURDIR)/_build/html/zh/index.html   (中文版)"

# The English edition at the root of _build/html/, the Chinese one (中文版) under
# _build/html/zh/, each strict; tools/i18n.py builds the Chinese from locale/zh_CN/.
build-book: $(STAMP) $(MATHJAX)
	$(VENV)/bin/jupyter-book build . $(JB_FLAGS)
	$(PY) tools/i18n.py build

# After changing English prose: refresh the Chinese message catalogs (locale/zh_CN/),
# then translate what is new or marked fuzzy (chapters/teaching.md says how).
translations: $(STAMP)
	$(PY) tools/i18n.py refresh

# MathJax, served from the book so that it reads offline, and axe-core, which
# the browser test runs on every page (it stays out of the book): installed from
# the npm registry into the git-ignored _vendor/ by one run of the script, which
# installs both (see _config.yml and the script's header).
$(MATHJAX) $(AXE): tools/install_static.sh
	tools/install_static.sh

# requirements.txt installs nnlib (editable) with the groups of requirements
# that pyproject.toml lists, with their version ranges: both files count.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.12 for example")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade uv
	$(VENV)/bin/uv pip install --python $(PY) -r requirements.txt
	touch $(STAMP)

# The book is built first: tests/test_browser.py opens every page of that build
# and runs axe-core on it. Tests run on every core; each notebook's cells stay
# together on one worker.
# tests/test_nbgrader.py runs nbgrader from its own environment (see below).
test: build-book $(NBG_STAMP) $(AXE)
	NNLIB_NBGRADER_PYTHON=$(CURDIR)/$(NBG_VENV)/bin/python $(PY) -m pytest -n auto --dist loadscope

# nbgrader, for the round trip of tests/test_nbgrader.py, in an environment of its
# own: it needs jupyterlab 4.2 or newer, which in .venv would lift the lowest
# versions make test-ends checks. The notebooks' requirements, without nnlib (the
# course's notebooks import their own copy), and nbgrader, from pyproject.toml.
$(NBG_STAMP): pyproject.toml $(STAMP)
	test -x $(NBG_VENV)/bin/python || $(PYTHON) -m venv $(NBG_VENV)
	$(VENV)/bin/uv pip install --python $(NBG_VENV)/bin/python --quiet -r pyproject.toml --extra notebooks --extra nbgrader
	touch $@

# Which cells print something that depends on the CPU (BLAS kernel, NumPy's
# SIMD loops)? Runs the notebooks under six simulated CPUs and shows the lines
# that differ. NB=chapters/08_adam.ipynb for one notebook.
kernels: $(STAMP)
	$(PY) tools/kernel_check.py $(NB)

# Both ends of the version ranges: the lowest versions pyproject.toml allows
# on the oldest Python the project supports, the newest on the newest; each
# runs the unit tests and strict nbval (tools/dependency_ends.py), the lowest
# under the generic x86-64 CPU's BLAS kernel, the newest under the AVX2 one
# (`make test` runs this CPU's own). CI runs it.
test-ends: $(STAMP)
	$(PY) tools/dependency_ends.py

lab: $(STAMP)
	$(VENV)/bin/jupyter lab chapters/

notebooks: $(STAMP)
	$(PY) tools/run_notebooks.py chapters/*.ipynb

# Mutation testing: mutmut plants small bugs in nnlib (a < made <=, a constant
# changed, a line dropped), runs nnlib's unit tests against each, and the
# report prints how many the tests caught, per module, and the survivors.
# Settings in pyproject.toml ([tool.mutmut]); results in mutants/ (git-ignored).
mutation: $(STAMP)
	$(VENV)/bin/uv pip install --python $(PY) --quiet -e '.[mutation]'
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(or $(JOBS),2) > /dev/null
	$(PY) tools/mutation_report.py

bench: $(STAMP)
	$(PY) benchmarks/run.py

# Debian's Chromium for tests/test_browser.py and `make screenshots` (Playwright
# drives the system browser; it never downloads one), a Chinese font so the
# glossary's terms show in screenshots, and bubblewrap, the sandbox the class
# checker runs students' notebooks in. Does nothing when all are there.
browser:
	@if [ -x /usr/bin/chromium ] && command -v bwrap >/dev/null && fc-list :lang=zh family 2>/dev/null | grep -q .; then \
	  echo "Chromium and bubblewrap are installed: /usr/bin/chromium, $$(command -v bwrap)"; else \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium fonts-wqy-microhei bubblewrap; fi

screenshots: $(STAMP)
	$(PY) tools/screenshots.py

# The PDFs (tools/build_pdf.py): Sphinx's LaTeX builder, then xelatex.
pdf: $(STAMP) pdf-tools
	$(PY) tools/build_pdf.py --out _build/pdf

# What make pdf needs, from Debian's packages (about 250 MB to download): xelatex
# with the LaTeX packages Sphinx's and jupyter-book's LaTeX use, latexmk, xindy
# (the index), rsvg-convert (the SVG diagram), poppler's PDF tools (the PDF test)
# and the fonts (FreeFont, Sphinx's default for xelatex; Noto CJK for the
# glossary's Chinese terms). Does nothing when all are there.
PDF_PACKAGES := texlive-xetex texlive-latex-extra texlive-lang-chinese texlive-fonts-recommended \
  latexmk xindy librsvg2-bin poppler-utils fonts-freefont-otf fonts-noto-cjk
pdf-tools:
	@if $(foreach t,xelatex latexmk xindy rsvg-convert pdftotext pdfinfo pdffonts pdftoppm,command -v $(t) >/dev/null &&) kpsewhich xeCJK.sty pgfplots.sty >/dev/null \
	    && fc-list | grep -q 'Noto Serif CJK SC' && fc-list | grep -q FreeSerif; then \
	  echo "TeX Live and the PDF tools are installed: $$(command -v xelatex)"; else \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $(PDF_PACKAGES); fi

# Coursework (chapters/teaching.md). The student edition folder is replaced on
# each run (the tool refuses to write into a folder it did not create).
# ZH=1: the Chinese student edition, in a folder of its own (the English one stays).
STUDENT_DIR ?= _build/student-edition$(if $(ZH),-zh)
TIMEOUT ?= 300
CELL_TIMEOUT ?= 60

student: $(STAMP)
	$(PY) -m coursework.student_edition $(STUDENT_DIR) $(if $(ONLY),--only "$(ONLY)") $(if $(ZH),--language zh)

student-book: $(STAMP) $(MATHJAX)
	$(PY) -m coursework.student_edition --book-source _build/student/src
	$(VENV)/bin/jupyter-book build _build/student/src $(JB_FLAGS) --path-output _build/student
	$(PY) tools/i18n.py build --source _build/student/src --out _build/student-zh --into _build/student/_build/html/zh
	$(PY) -m coursework.student_edition --verify-html _build/student/_build/html
	@echo
	@echo "The student book (no solutions) is built. Open it in a browser:"
	@echo "  file://$(CURDIR)/_build/student/_build/html/index.html"
	@echo "  file://$(CURDIR)/_build/student/_build/html/zh/index.html   (中文版)"

check-submissions:
	@test -n "$(DIR)" || { echo "usage: make check-submissions DIR=folder-of-notebooks [TIMEOUT=300] [CELL_TIMEOUT=60] [JOBS=2] [OUT=folder] [CLASS=students.csv] [POINTS=points.csv] [EXERCISES='ex-01-*'] [DETAILS=1] [SANDBOX=none] [SHEET_ONLY=1] [RERUN_TIMED_OUT=1]" >&2; exit 2; }
	@$(MAKE) --no-print-directory $(STAMP)
	$(PY) -m coursework.check_submissions "$(DIR)" --timeout $(TIMEOUT) --cell-timeout $(CELL_TIMEOUT) \
	  $(if $(JOBS),--jobs $(JOBS)) $(if $(SHEET_ONLY),--sheet-only) $(if $(RERUN_TIMED_OUT),--rerun-timed-out) \
	  $(if $(OUT),--out "$(OUT)") $(if $(CLASS),--class-list "$(CLASS)") $(if $(POINTS),--points "$(POINTS)") \
	  $(if $(EXERCISES),--exercises "$(EXERCISES)") $(if $(DETAILS),--details) $(if $(SANDBOX),--sandbox $(SANDBOX))

nbgrader: $(STAMP)
	$(PY) -m coursework.nbgrader_export $(or $(OUT),_build/nbgrader) $(if $(ONLY),--only "$(ONLY)") \
	  $(if $(POINTS),--points "$(POINTS)") --cell-timeout $(CELL_TIMEOUT)

suggest-limits: $(STAMP)
	$(PY) -m coursework.check_submissions chapters --suggest-limits --jobs $(or $(JOBS),1) $(if $(SANDBOX),--sandbox $(SANDBOX))

clean:
	rm -rf _build _vendor
