"""Settings for every pytest run, including the notebook kernels nbval starts.

One BLAS thread, as in the Makefile: at this book's matrix sizes a second
thread gains nothing, makes small products far slower when the other core is
busy, and could change the last bits of stored outputs.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


# The longest tests first, so that `pytest -n auto --dist loadscope` (make test)
# starts them at once and fills the workers with the short ones around them:
# started last, one of them alone would keep a worker busy for a minute after
# the others are done.
LONG_FIRST = ("tests/test_portability.py", "tests/test_student_edition.py::test_student_notebooks_run",
              "tests/test_hostile_submissions.py", "tests/test_check_submissions.py::test_an_honest_class")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))
