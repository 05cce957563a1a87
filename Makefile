# make book   set everything up (virtual environment in .venv) and build the HTML book
# make test   run the whole test suite: nnlib's tests, strict nbval on every notebook, strict book build
# make lab    open the notebooks in JupyterLab
# make notebooks   re-execute every notebook from a fresh kernel and store its outputs
# make bench  measure nnlib against scikit-learn, a naive implementation and bare NumPy
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going
# One BLAS thread: at this book's matrix sizes a second thread gains nothing and,
# when the other core is busy, makes small matrix products hundreds of times
# slower. It also keeps the stored notebook outputs reproducible.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: book test lab notebooks build-book bench clean

book: $(STAMP) build-book
	@echo
	@echo "The book is built. Open it in a browser:"
	@echo "  file://$(CURDIR)/_build/html/index.html"

build-book: $(STAMP)
	$(VENV)/bin/jupyter-book build . $(JB_FLAGS)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.12 for example")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade uv
	$(VENV)/bin/uv pip install --python $(PY) -r requirements.txt -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest
	$(MAKE) build-book

lab: $(STAMP)
	$(VENV)/bin/jupyter lab chapters/

notebooks: $(STAMP)
	$(PY) tools/run_notebooks.py chapters/*.ipynb

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf _build
