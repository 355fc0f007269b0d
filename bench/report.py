"""docs/BENCHMARKS.md as named sections, so each benchmark script rewrites only its own."""

from __future__ import annotations

import os
import platform
import re
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
TITLE = [
    "# Benchmarks",
    "",
    "Each section says when and by which command it was measured. Ratios compare with a bare",
    "baseline measured in the same run; absolute times drift on this shared machine.",
    "",
]


def machine_line(command: str) -> str:
    """Say when, where and by what a section was measured."""
    return (
        f"Measured {datetime.now().isoformat(timespec='minutes')} on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, by `{command}`."
    )


def _marker(key: str) -> tuple[str, str]:
    return f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"


def replace_section(key: str, lines: list[str], path: Path = RESULTS) -> None:
    """Put lines into the section named key, replacing what it held; append when new."""
    start, end = _marker(key)
    block = "\n".join([start, *lines, end])
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if not text.startswith("# Benchmarks"):
        text = "\n".join(TITLE)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
