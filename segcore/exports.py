"""Files the app offers for download, made safe to open: CSV cells can't run as spreadsheet formulas."""
from __future__ import annotations

import pandas as pd

# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escape(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value           # OWASP's rule: a leading quote makes the cell text
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names can't start a formula. Numbers stay numbers: -0.5 is data."""
    out = frame.copy()
    out.columns = [_escape(str(c)) for c in out.columns]
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            out.iloc[:, position] = column.map(_escape)
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as UTF-8 CSV (no index) with csv_safe applied: what every CSV download of the app should use."""
    return csv_safe(frame).to_csv(index=False).encode("utf-8")
