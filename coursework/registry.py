"""Every coding exercise of the book, registered once, with its checker.

A chapter's checker module declares each checker with :func:`exercise`::

    @exercise("ex-01-neuron-forward", answers=("neuron_forward",),
              forbidden=("nnlib.activations.sigmoid", ...))
    def check_neuron_forward(neuron_forward) -> int:
        ...   # raise _Failure on a wrong answer, return the number of checks

The label is written there and nowhere else: :data:`EXERCISES` (label ->
:class:`Exercise`, in book order) is filled as the chapter modules are
imported, and the check cells, the student edition and the class checker
all read it. ``answers`` are the names of the functions the reader defines
(the class checker looks them up in the notebook); ``forbidden`` lists the
library functions an answer must not call (see :mod:`coursework.guard`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable

from ._checking import run_checks
from .protocol import Verdict, format_verdict

__all__ = ["EXERCISES", "Exercise", "exercise"]

_LABEL = re.compile(r"^ex-(\d\d)-[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Exercise:
    """One coding exercise: its label, the answers it takes, its checker and its forbidden functions."""

    label: str
    answers: tuple[str, ...]
    check: Callable[..., int]
    forbidden: tuple[str, ...] = ()

    @property
    def chapter(self) -> int:
        return int(self.label.split("-")[1])

    def judge(self, *answers: Any) -> Verdict:
        """Run the checker on ``answers`` (one per name in :attr:`answers`) and return its verdict."""
        if len(answers) != len(self.answers):
            raise TypeError(f"{self.label} takes {len(self.answers)} answer(s): {', '.join(self.answers)}")
        return run_checks(self.label, lambda: self.check(*answers), self.forbidden)


#: Every coding exercise, label -> :class:`Exercise`, in book order.
EXERCISES: dict[str, Exercise] = {}


def exercise(label: str, *, answers: tuple[str, ...], forbidden: tuple[str, ...] = ()) -> Callable:
    """Register a checker body as exercise ``label``; return the check function the notebooks call."""
    if not _LABEL.match(label):
        raise ValueError(f"exercise labels look like ex-01-neuron-forward, not {label!r}")

    def decorate(body: Callable[..., int]) -> Callable[..., None]:
        if label in EXERCISES:
            raise ValueError(f"exercise {label} is registered twice")
        entry = Exercise(label, tuple(answers), body, tuple(forbidden))
        EXERCISES[label] = entry

        @functools.wraps(body)
        def check(*given: Any) -> None:
            print(format_verdict(entry.judge(*given)))

        check.__annotations__ = {**body.__annotations__, "return": None}
        check.exercise = entry  # type: ignore[attr-defined]
        return check

    return decorate
