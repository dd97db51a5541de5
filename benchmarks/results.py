"""What every benchmark writes: the machine it ran on, and its figures as JSON."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def report(result: dict, path: Path | None) -> None:
    """Print the figures and, with a path, write them there."""
    text = json.dumps(result, indent=1)
    print(text)
    if path:
        path.write_text(text + "\n", encoding="utf-8")
