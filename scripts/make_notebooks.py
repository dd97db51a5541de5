"""Write the example notebooks in notebooks/ (without outputs).

python scripts/make_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
DATA = "../data"
BOUNDARIES = f"{DATA}/boundaries/synthetic_districts.geojson"

NOTEBOOKS = {
    "01_quickstart.ipynb": [
        new_markdown_cell(
            "# mineland quick start\n\nRead districts and survey records, work out the "
            "hectares per district, and show the map. The demo data is **synthetic**."
        ),
        new_code_cell(
            "import mineland\n\n"
            f'districts = mineland.read_districts("{BOUNDARIES}")\n'
            f'surveys = mineland.read_surveys("{DATA}/surveys")\n'
            "print(surveys.describe())"
        ),
        new_code_cell(
            'summary = mineland.summarize(districts, surveys, as_of="2024-12-31")\n'
            'summary.drop(columns="geometry").round(1)'
        ),
        new_markdown_cell("Totals over all rows (districts and any area outside them):"),
        new_code_cell('summary[["contaminated_ha", "released_ha", "recorded_ha"]].sum().round(1)'),
        new_markdown_cell(
            "`account` also keeps the geometry the hectares were measured on; the map shows "
            "it, with the records, devices and incidents."
        ),
        new_code_cell(
            'acc = mineland.account(districts, surveys, as_of="2024-12-31")\n'
            'm = mineland.make_map(acc, title="Demo (synthetic)", tiles="none")\n'
            "m"
        ),
    ],
    "02_progress_over_time.ipynb": [
        new_markdown_cell(
            "# Progress over time\n\nHectares released per district and year (each piece of "
            "land counted once, in the year it was first released), and what remains."
        ),
        new_code_cell(
            "import mineland\n"
            "from mineland import plot_released, plot_remaining\n\n"
            f'districts = mineland.read_districts("{BOUNDARIES}")\n'
            f'surveys = mineland.read_surveys("{DATA}/surveys")\n'
            'table = mineland.release_progress(districts, surveys, freq="year")\n'
            "table.head(12).round(1)"
        ),
        new_code_cell(
            'table.pivot_table(index="district", columns=table["period_end"].dt.year,\n'
            '                  values="cleared_ha", aggfunc="sum").round(1)'
        ),
        new_code_cell('plot_released(table, by="method")'),
        new_code_cell('plot_released(table, by="district")'),
        new_code_cell("plot_remaining(mineland.summarize(districts, surveys))"),
        new_markdown_cell("Land cover of what remains (synthetic ESA WorldCover classes):"),
        new_code_cell(
            f'landcover = mineland.read_raster("{DATA}/landcover/synthetic_landcover.tif")\n'
            "impact = mineland.landcover_impact(districts, surveys, landcover)\n"
            'impact.groupby("class_name")[["contaminated_ha", "released_ha"]].sum().round(1)'
        ),
    ],
    "03_data_quality.ipynb": [
        new_markdown_cell(
            "# Data quality\n\nWhat is wrong in the data, where, and what it does to the "
            "hectares. Every input row is either used or rejected with a reason."
        ),
        new_code_cell(
            "import mineland\n\n"
            f'districts = mineland.read_districts("{BOUNDARIES}")\n'
            f'surveys = mineland.read_surveys("{DATA}/surveys", on_file_error="reject")\n'
            'report = mineland.validate(districts, surveys, start_date="2020-11-10")\n'
            'print(f"{report.errors} errors, {report.warnings} warnings")\n'
            "report.summary"
        ),
        new_code_cell("report.conservation"),
        new_code_cell(
            "report.findings.query(\"check == 'released_outside_hazard'\")"
            '[["message", "area_ha"]].round(2)'
        ),
        new_code_cell(
            "overlaps = report.findings.query(\"check == 'overlapping_hazards'\")\n"
            'overlaps.sort_values("area_ha", ascending=False).head(5)[["record_id", "message"]]'
        ),
        new_markdown_cell("Rejected rows keep their columns and say why (none in the demo):"),
        new_code_cell("surveys.rejected.head()"),
    ],
    "04_planning.ipynb": [
        new_markdown_cell(
            "# Planning\n\nWhen each district will be clear at the current pace, where the "
            "records suggest contamination that no hazard covers, and which hazards to "
            "clear first. One `AccountingCache` serves all three. All data here is SYNTHETIC."
        ),
        new_code_cell(
            "import mineland\n\n"
            f'districts = mineland.read_districts("{BOUNDARIES}")\n'
            f'surveys = mineland.read_surveys("{DATA}/surveys")\n'
            "cache = mineland.AccountingCache(districts, surveys)\n"
            'forecast = mineland.forecast_completion(districts, surveys, window="1y",\n'
            '                                        deadline="2035-12-31", accounts=cache)\n'
            'forecast.table[["district", "contaminated_ha", "net_rate_ha_per_year",\n'
            '                "completion", "completion_low", "completion_high", "status"]].round(1)'
        ),
        new_code_cell("mineland.plot_forecast(forecast)"),
        new_markdown_cell(
            "Devices and incidents away from every recorded hazard, and the candidate "
            "areas for non-technical survey (suggestions, never hazard records):"
        ),
        new_code_cell(
            "found = mineland.find_unmapped(districts, surveys, accounts=cache)\n"
            'found.candidates.drop(columns="geometry").round(1)'
        ),
        new_markdown_cell("The hazards to clear first, with the demo profile and land cover:"),
        new_code_cell(
            "from mineland.io import load_profile, read_features\n\n"
            f'profile = load_profile("{DATA}/context/demo_profile.toml")\n'
            'layers = {name: read_features(f"' + DATA + '/context/synthetic_{name}.geojson")\n'
            '          for name in ("settlements", "schools", "roads", "water")}\n'
            f'landcover = mineland.read_raster("{DATA}/landcover/synthetic_landcover.tif")\n'
            "ranked = mineland.prioritise(districts, surveys, profile=profile, layers=layers,\n"
            "                             landcover=landcover, accounts=cache)\n"
            'ranked.table.drop(columns="geometry").head(10).round(2)'
        ),
        new_code_cell(
            'mineland.make_map(cache.at(None), tiles="none", unmapped=found, forecast=forecast,\n'
            "                  priorities=ranked)"
        ),
    ],
}


def main() -> None:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, out / name)
        print(f"wrote notebooks/{name}")


if __name__ == "__main__":
    main()
