"""The assertion that nbgrader's autograded test cells make (see coursework.nbgrader_export).

nbgrader gives a test cell its points when the cell runs without an error.
The book's check cells print a verdict and never raise, so the nbgrader
edition of each check cell adds::

    from coursework.nbgrader_tests import assert_pass
    assert_pass("ex-01-neuron-forward", neuron_forward)
    ### BEGIN HIDDEN TESTS
    assert_pass("ex-01-neuron-forward", neuron_forward, fresh_cases=True)
    ### END HIDDEN TESTS

:func:`assert_pass` runs the exercise's checker (the same one the check
cell calls) and raises ``AssertionError`` with the verdict's text unless it
says PASS. With ``fresh_cases=True`` (the hidden part, which students never
see and nbgrader restores before autograding) the checker's hidden cases are
drawn from a new random salt, as the class checker does, so an answer that
only knows the cases of the notebook fails.

This runs in the student's kernel, like every nbgrader test: code in the
student's own cells runs first and can replace this function, the checker or
``AssertionError`` itself. nbgrader does not guard against that; the class
checker (python -m coursework.check_submissions) does. See the teacher's guide.
"""

from __future__ import annotations

import secrets

from ._checking import hidden_cases_salt
from .protocol import PASS, format_verdict
from .registry import EXERCISES

__all__ = ["assert_pass"]


def assert_pass(label: str, *answers, fresh_cases: bool = False) -> None:
    """Raise AssertionError (the verdict's text) unless exercise ``label``'s checker says PASS for ``answers``."""
    try:
        entry = EXERCISES[label]
    except KeyError:
        raise AssertionError(f"{label}: no such exercise in coursework") from None
    salt = secrets.randbits(62) if fresh_cases else None
    with hidden_cases_salt(salt):
        verdict = entry.judge(*answers)
    if verdict.status != PASS:
        text = format_verdict(verdict)
        if fresh_cases:
            text += "\n    (on test cases drawn afresh for grading, which the notebook does not show)"
        raise AssertionError(text)
