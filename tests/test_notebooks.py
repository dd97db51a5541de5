"""Every notebook runs top to bottom on the demo data (executed with nbclient)."""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT
from nbclient import NotebookClient

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_four_notebooks_without_outputs():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_progress_over_time.ipynb",
        "03_data_quality.ipynb",
        "04_planning.ipynb",
    ]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert outputs and not any(o.get("output_type") == "error" for o in outputs)
    if path.name.startswith("02"):  # the charts show as pictures
        assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    if path.name.startswith("04"):  # the forecast chart, the tables and the map
        assert sum("image/png" in o.get("data", {}) for o in outputs) >= 1
        html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
        assert "Candidate areas" in html or "candidate" in html
    if path.name.startswith("01"):
        html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
        assert "mineland.build" in html or "iframe" in html  # the map shows inline
