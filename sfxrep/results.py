"""The results file: one JSON row per (run, library), appended; and plain-text tables of it."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path


def append_results(rows: Iterable[dict], path: str | Path) -> None:
    """Append rows to a JSON-lines results file (created with its folder if needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_results(path: str | Path) -> list[dict]:
    """Rows of a results file; a malformed line raises with its line number."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{n}: not a JSON row ({err})") from err
    return rows


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:+.3f}" if value < 0 else f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def format_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A fixed-width text table of ``columns`` of ``rows``."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda items: "  ".join(s.rjust(w) if i else s.ljust(w) for i, (s, w) in enumerate(zip(items, widths)))
    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, cells)])
