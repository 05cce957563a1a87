"""Settings for every pytest run, including the notebook kernels nbval starts.

One BLAS thread, as in the Makefile: at this book's matrix sizes a second
thread gains nothing, makes small products far slower when the other core is
busy, and could change the last bits of stored outputs.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
