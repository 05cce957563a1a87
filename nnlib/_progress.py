"""A one-line text progress bar for long training runs (no dependencies).

It writes to standard error only when a person is watching a terminal
(``sys.stderr.isatty()``), so notebooks, tests and logs stay free of it and
stored outputs stay deterministic.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``epoch 37/100 [#######.............] loss 0.1234``, redrawn in place."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 24, interval: float = 0.1) -> None:
        self.total, self.width, self.interval = total, width, interval
        self.stream = stream if stream is not None else sys.stderr
        self._last = 0.0

    @staticmethod
    def wanted(progress: bool | None, stream: TextIO | None = None) -> bool:
        """``progress=None`` means: only when standard error is an interactive terminal."""
        if progress is not None:
            return bool(progress)
        stream = stream if stream is not None else sys.stderr
        return bool(getattr(stream, "isatty", lambda: False)())

    def update(self, epoch: int, values: dict[str, float]) -> None:
        now = time.monotonic()
        if epoch < self.total and now - self._last < self.interval:
            return  # redraw at most every `interval` seconds
        self._last = now
        done = self.width * epoch // self.total
        bar = "#" * done + "." * (self.width - done)
        text = "  ".join(f"{k} {v:.4f}" for k, v in values.items())
        self.stream.write(f"\repoch {epoch}/{self.total} [{bar}] {text}")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
