"""Styled workbooks: bold frozen headers, filters, column widths and number formats."""

from __future__ import annotations

import pandas as pd
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..labels import number_format

__all__ = ["style_sheet"]


def style_sheet(ws, frame: pd.DataFrame, *, bold_last_row: bool = False) -> None:
    """Style an openpyxl sheet holding ``frame``: bold frozen header, a filter, widths
    fitted to the text, number formats by column (:func:`mineland.labels.number_format`),
    and a bold last row when it is a totals line."""
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    for k, col in enumerate(frame.columns, start=1):
        values = [str(col)] + [str(v) for v in frame[col].head(200)]
        ws.column_dimensions[get_column_letter(k)].width = min(
            60, max(8, max(map(len, values)) + 2)
        )
        fmt = number_format(col)
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            fmt = "yyyy-mm-dd"  # a real date, shown as a date
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=k, max_col=k):
                cell.number_format = fmt
    if bold_last_row and ws.max_row > 1:
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
