"""The score of the last mutation run (make mutation): mutants killed per module, and in all.

Reads ``mutmut results --all true`` (one ``name: status`` line per mutant) and
prints, for each nnlib module, how many mutants the unit tests killed, then
the survivors by name, so that each one can be read with ``mutmut show NAME``.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse(lines: list[str]) -> dict[str, str]:
    """Mutant name -> status ("killed", "survived", "timeout", ...)."""
    result = {}
    for line in lines:
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("nnlib."):
            result[name] = status
    return result


def report(statuses: dict[str, str]) -> str:
    by_module: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, status in statuses.items():
        by_module[re.split(r"\.x[ǁ_]", name, maxsplit=1)[0]][status] += 1
    lines = [f"{'module':<22}{'mutants':>8}{'caught':>8}{'survived':>10}{'untested':>9}{'score':>8}"]
    total = collections.Counter()
    for module in sorted(by_module):
        c = by_module[module]
        total += c
        lines.append(_row(module, c))
    lines.append(_row("all", total))
    survivors = sorted(name for name, status in statuses.items() if status == "survived")
    if survivors:
        lines += ["", f"{len(survivors)} survived (read one with: mutmut show NAME):"] + [f"  {s}" for s in survivors]
    return "\n".join(lines)


def _row(label: str, c: collections.Counter) -> str:
    n = sum(c.values())
    tested = n - c["not checked"] - c["skipped"]
    # A mutant that made the tests time out or crash was caught, as mutmut counts it.
    caught = c["killed"] + c["timeout"] + c["segfault"]
    score = f"{100 * caught / tested:.1f}%" if tested else "-"
    return f"{label:<22}{n:>8}{caught:>8}{c['survived']:>10}{n - caught - c['survived']:>9}{score:>8}"


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    out = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True)
    statuses = parse(out.stdout.splitlines())
    if not statuses:
        print("no mutation results: run `make mutation` first", file=sys.stderr)
        return 1
    print(report(statuses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
