"""Benchmark: whole commands as a user runs them, this checkout against an earlier
commit, on the same data, in the same run.

    python benchmarks/bench_commands.py --n 20000 --base 3fd69cc

The earlier commit is checked out with ``git worktree`` into ``benchmarks/out`` and run
from there (``PYTHONPATH``); each command is a new process, from start-up to the
written file, and the runs alternate.  Reported per command: the median times, their
ratio, and how many times the accounting ran (counted by wrapping ``account``);
for ``report`` the summary sheets of both versions are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_summarize import generate  # noqa: E402
from versions import NEUTRAL, check_versions, worktree  # noqa: E402

CLI = "import sys; from mineland.cli import main; sys.argv[0] = 'mineland'; main()"

#: the command line with every call of the accounting counted (printed on exit), for
#: this checkout and the earlier one alike: each module that imported ``account`` gets
#: the counting one
COUNTED = """
import atexit, sys
import mineland.accounting as accounting
real, calls = accounting.account, []
def account(*args, **kwargs):
    calls.append(kwargs.get("as_of"))
    return real(*args, **kwargs)
for module in list(sys.modules.values()):
    if getattr(module, "account", None) is real:
        module.account = account
atexit.register(lambda: print(f"ACCOUNTINGS {len(calls)}", file=sys.stderr))
from mineland.cli import main
sys.argv[0] = "mineland"
main()
"""


def commands(d: Path, h: Path, r: Path, out: Path, name: str) -> dict[str, list[str]]:
    inputs = [str(d), str(h), str(r)]
    return {
        "--help": ["--help"],
        "summarize": ["summarize", *inputs, "-o", str(out / f"s_{name}.csv")],
        "report": [
            "report",
            *inputs,
            "--as-of",
            "2024-12-31",
            "-o",
            str(out / f"r_{name}.xlsx"),
        ],
        "map --timeline": [
            "map",
            *inputs,
            "--tiles",
            "none",
            "--timeline",
            "year",
            "-o",
            str(out / f"m_{name}.html"),
        ],
    }


def run(pythonpath: Path, args: list[str], code: str = CLI) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "COLUMNS": "200"}
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, cwd=NEUTRAL
    )
    elapsed = time.perf_counter() - t
    if done.returncode not in (0, 1):
        raise SystemExit(f"{args[0]} failed: {done.stderr.decode()[-2000:]}")
    return elapsed, done.stderr.decode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--base", default="3fd69cc")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    out = HERE / "out"
    d, h, r = generate(a.n, 60, out)
    paths = {"base": worktree(a.base), "new": ROOT}
    check_versions(*paths.values())
    results = {}
    for command in commands(d, h, r, out, "x"):
        times: dict[str, list[float]] = {"base": [], "new": []}
        accountings = {}
        for name, path in paths.items():
            args = commands(d, h, r, out, name)[command]
            _, log = run(path, args, COUNTED)
            accountings[name] = int(log.rsplit("ACCOUNTINGS ", 1)[1].split()[0])
        for k in range(a.repeat):
            for name, path in paths.items():
                args = commands(d, h, r, out, name)[command]
                times[name].append(run(path, [*args, "-q"] if command != "--help" else args)[0])
                print(f"{command} {name} run {k + 1}: {times[name][-1]:.2f} s", file=sys.stderr)
        base_s, new_s = statistics.median(times["base"]), statistics.median(times["new"])
        results[command] = {
            "base_s": base_s,
            "new_s": new_s,
            "base_over_new": base_s / new_s,
            "accountings_base": accountings["base"],
            "accountings_new": accountings["new"],
        }
    cols = ["contaminated_ha", "released_ha", "devices", "hazard_records"]
    old = pd.read_excel(out / "r_base.xlsx", sheet_name="Summary").set_index("district")
    new = pd.read_excel(out / "r_new.xlsx", sheet_name="Summary").set_index("district")
    diff = (new[cols] - old.loc[new.index, cols]).abs() / old.loc[new.index, cols].clip(lower=1)
    result = {
        "n": a.n,
        "base_commit": a.base,
        "commands": results,
        "report_summary_max_rel_difference": float(diff.max().max()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=1))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
