"""Merged cells of a worksheet, below its header.  A range in one column (a record
type or a date written once for a block of rows) stands for its value on each of its
rows, as the sheet shows it; a range over several columns keeps its value in its
first cell only (copied across, a number would land in another column)."""

from __future__ import annotations

import pandas as pd

from ._xlsx_cells import cell_name

__all__ = ["filled_merges", "merged_ranges"]


def merged_ranges(book: pd.ExcelFile, name: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a sheet, (first row, first column, last row, last column)
    from 0; none where the workbook's format does not tell them."""
    try:
        ranges = book.book.get_sheet_by_name(name).merged_cell_ranges
    except Exception:  # a format or an engine without merged ranges
        return []
    return [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in ranges or []]


def filled_merges(
    frame: pd.DataFrame, merges: list[tuple[int, int, int, int]], header: int
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The sheet's table (its rows start below ``header``, a sheet row from 0) with
    each merged range of one column filled down its rows that hold something else
    (a range longer than its block makes no records), and the notes that say so:
    ``(check, message)``."""
    down, across = [], []
    other = frame.notna().to_numpy()
    frame = frame.copy()
    for r0, c0, r1, c1 in sorted(merges):
        if r0 <= header or c0 >= frame.shape[1] or r0 - header - 1 >= len(frame):
            continue  # a title or the header itself
        where = f"{cell_name(r0, c0)}:{cell_name(r1, c1)}"
        if c1 > c0:
            across.append(where)
            continue
        top, end = r0 - header - 1, min(r1 - header, len(frame))
        rows = [k for k in range(top + 1, end) if other[k].any() and not other[k, c0]]
        if rows:
            frame.iloc[rows, c0] = frame.iat[top, c0]
            down.append(where)
    said = (
        ("merged cells read on each of their rows", down),
        ("merged cells over several columns, read in their first cell only", across),
    )
    return frame, [("merged_cells", f"{what}: {', '.join(at)}") for what, at in said if at]
