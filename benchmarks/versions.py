"""Running two versions of mineland side by side: this checkout and an earlier commit
checked out with ``git worktree`` into ``benchmarks/out``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: the folder the commands run in: not the checkout, whose ``mineland`` would come
#: first on ``sys.path`` (``python -c`` puts the working folder there) and shadow the
#: earlier commit given by PYTHONPATH
NEUTRAL = HERE / "out"


def worktree(base: str) -> Path:
    """The earlier commit, checked out once into ``benchmarks/out/base-COMMIT``."""
    path = NEUTRAL / f"base-{base}"
    if not path.exists():
        args = ["git", "worktree", "add", "--detach", str(path), base]
        subprocess.run(args, cwd=ROOT, check=True)
    return path


def imported_from(pythonpath: Path) -> Path:
    """The folder whose ``mineland`` a command run with this PYTHONPATH imports."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    code = "import mineland, pathlib; print(pathlib.Path(mineland.__file__).parent.parent)"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=NEUTRAL
    )
    return Path(done.stdout.strip()).resolve()


def check_versions(*paths: Path) -> None:
    """Each version imports its own code (or the comparison means nothing)."""
    for path in paths:
        got = imported_from(path)
        if got != path.resolve():
            raise SystemExit(f"{path}: a command run with it imports {got}")
