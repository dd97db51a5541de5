"""Run the tests on the oldest versions ``pyproject.toml`` allows.

    python scripts/check_minimum_versions.py                  # the whole suite
    python scripts/check_minimum_versions.py tests/test_cli.py -x

Every dependency pinned as ``name>=X`` (the package's, and its ``test`` and ``dask``
extras) is installed at exactly ``X``, from wheels only (a minimum no wheel exists for
is not one a user can install); what they need in turn comes at its newest.  mineland
itself is installed from this folder without dependencies, into a new virtual
environment outside the repository, then ``python -m pytest`` runs there with the
arguments given.  The versions installed are printed first.  Exits with pytest's
status (or pip's, when a minimum cannot be installed).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("test", "dask")
_PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*>=\s*([^,;\s]+)\s*$")


def minimum_pins(pyproject: Path) -> list[str]:
    """``name[extras]==X`` for every ``name[extras]>=X`` the project and its extras ask
    for; a requirement of another form stops the check (it would go untested)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in EXTRAS:
        wanted += project["optional-dependencies"][extra]
    pins = []
    for requirement in wanted:
        m = _PIN.match(requirement)
        if not m:
            raise SystemExit(f"{requirement!r} is not NAME>=VERSION: its minimum is not known")
        pins.append(f"{m[1]}{m[2] or ''}=={m[3]}")
    return pins


def run(cmd: list, **kw) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], **kw).returncode


def main(pytest_args: list[str]) -> int:
    pins = minimum_pins(ROOT / "pyproject.toml")
    with tempfile.TemporaryDirectory(prefix="mineland-minimum-") as tmp:
        env_dir = Path(tmp) / "venv"
        venv.create(env_dir, with_pip=True)
        py = env_dir / "bin" / "python"
        pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        status = run([*pip, "--only-binary", ":all:", *pins])
        if status:
            return status
        status = run([*pip, "--no-deps", "-e", ROOT])
        if status:
            return status
        names = "|".join(re.escape(p.split("==")[0].split("[")[0]) for p in pins)
        listing = subprocess.run(
            [py, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True
        )
        shown = [ln for ln in listing.stdout.splitlines() if re.match(f"(?i)({names})==", ln)]
        print("installed:", ", ".join(shown), flush=True)
        return run([py, "-m", "pytest", *pytest_args], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
