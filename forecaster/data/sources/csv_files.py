"""Prices from CSV files in either of two layouts.

- Yahoo layout, one ticker per file: ``Date,Open,High,Low,Close,Adj Close,Volume``;
  the ticker is the file name's stem (``AAPL.csv``) unless given.
- Long layout, many tickers per file: ``date,open,high,low,close,volume,Name``
  (``ticker`` instead of ``Name`` works too). It has no adjusted close, so
  ``adj_close`` is ``close`` (in the shared S&P 500 file: split-adjusted only).

Errors name the file and the file's own 1-based line number (the header is line 1).
"""

from __future__ import annotations

import csv
import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import compute as pc
from pyarrow import csv as arrow_csv

from forecaster.data.sources.schema import NUMERIC_COLUMNS, PRICE_COLUMNS, normalise_prices, validate_ticker
from forecaster.errors import DataError, SourceError

log = logging.getLogger(__name__)

YAHOO_COLUMNS = {
    "Date": "date",
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}
LONG_COLUMNS = {"date": "date", "open": "open", "high": "high", "low": "low", "close": "close", "volume": "volume"}
LONG_TICKER_COLUMNS = ("Name", "ticker")
_HEADER_LINES = 1  # data row i (0-based) sits on file line i + 2


def detect_layout(columns: list[str], path: Path) -> str:
    """Return ``"yahoo"`` or ``"long"``, or raise SourceError saying why neither fits."""
    present = set(columns)
    if set(YAHOO_COLUMNS) <= present:
        return "yahoo"
    if set(LONG_COLUMNS) <= present and present & set(LONG_TICKER_COLUMNS):
        if set(LONG_TICKER_COLUMNS) <= present:
            raise SourceError(f"{path}: both {' and '.join(LONG_TICKER_COLUMNS)} columns: which names the ticker?")
        return "long"
    yahoo_missing = sorted(set(YAHOO_COLUMNS) - present)
    long_missing = sorted(set(LONG_COLUMNS) - present)
    if not present & set(LONG_TICKER_COLUMNS):
        long_missing.append("Name")
    raise SourceError(
        f"{path}: header {columns} fits neither layout: the Yahoo layout lacks {yahoo_missing}, "
        f"the long layout lacks {long_missing}"
    )


def _read_text_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: a row with more fields than the header never becomes a silent index.
            table = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, index_col=False)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not a text CSV file ({exc.reason})") from exc
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{path}: the file is empty") from exc
    except pd.errors.ParserError as exc:
        raise SourceError(f"{path}: not a readable CSV file ({exc})") from exc
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise SourceError(
            f"{path}: lines {_describe_lines(_ragged_lines(path, len(table.columns)))} have more "
            f"fields than the header's {len(table.columns)}"
        )
    return table


def _ragged_lines(path: Path, fields: int) -> list[int]:
    """1-based numbers of the lines with more than ``fields`` fields (only read when some exist)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [number for number, row in enumerate(csv.reader(handle), start=1) if len(row) > fields]


def _line_numbers(mask: pd.Series) -> list[int]:
    return [int(i) + _HEADER_LINES + 1 for i in mask[mask].index]


def _describe_lines(lines: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(n) for n in lines[:limit])
    return shown + (f" and {len(lines) - limit} more" if len(lines) > limit else "")


BAD_ROW_POLICIES = ("fail", "drop")


_BLANKS = ["", "null", "NaN", "nan"]


def _blank_where(column: pd.Series, unparsed: pd.Series) -> pd.Series:
    """True where ``column`` holds no value. Only the ``unparsed`` values are looked at (a blank never parses):
    stripping every string of a clean file of millions of rows cost more than parsing it."""
    blank, look = np.zeros(len(column), bool), unparsed.to_numpy()
    if look.any():
        blank[look] = column[look].str.strip().isin(_BLANKS).to_numpy()
    return pd.Series(blank, index=column.index)


def _common_names(columns: list[str], layout: str) -> dict[str, str]:
    """The file's column names -> the price table's, for the columns the table takes."""
    if layout == "yahoo":
        return YAHOO_COLUMNS
    ticker_column = next(c for c in LONG_TICKER_COLUMNS if c in columns)
    return {**LONG_COLUMNS, ticker_column: "ticker"}


def _header(path: Path) -> list[str] | None:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def _read_typed(path: Path) -> tuple[str, tuple[pd.DataFrame, dict[str, pd.Series]]] | None:
    """The layout, and ``_parse``'s frame and blanks, read in one multi-threaded pass with the numbers parsed as
    numbers (Arrow's CSV reader); None for a file that is not clean enough for that - a value that is not a
    number, a line with too many or too few fields, a header that fits no layout or names a column twice -
    which the text reading then describes, line by line.

    Reading every value as text first cost about 8 times as much for 5 times the rows (millions of strings),
    and most files are clean."""
    header = _header(path)
    if not header or len(set(header)) != len(header):
        return None
    try:
        layout = detect_layout(header, path)
    except SourceError:
        return None
    names = _common_names(header, layout)
    # A column left out here that the text reading would read (a second ticker column, or one named as a price
    # field the layout does not map): the text reading decides what it means.
    if (set(header) - set(names)) & {*PRICE_COLUMNS, *LONG_TICKER_COLUMNS}:
        return None
    try:
        table = arrow_csv.read_csv(
            path,
            parse_options=arrow_csv.ParseOptions(ignore_empty_lines=False),
            convert_options=arrow_csv.ConvertOptions(
                include_columns=list(names),
                # Dates as text: parsed below as the text reading parses them, to the same format.
                column_types={n: pa.float64() if names[n] in NUMERIC_COLUMNS else pa.string() for n in names},
                null_values=_BLANKS,
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError, ValueError):
        return None
    if table.num_rows == 0:
        return None
    for name in names:  # NaN that is not one of the blanks, or a number too large: the text reading names it
        if names[name] in NUMERIC_COLUMNS and pc.any(pc.invert(pc.is_finite(table[name]))).as_py():
            return None
    parsed = table.rename_columns([names[n] for n in table.column_names]).to_pandas()
    dates = parsed["date"]
    parsed["date"] = pd.to_datetime(dates, errors="coerce", format="%Y-%m-%d")
    blanks = {"date": _blank_where(dates, parsed["date"].isna())}
    for column in [c for c in NUMERIC_COLUMNS if c in parsed.columns]:
        blanks[column] = parsed[column].isna()  # a value that is not a number made the file go the text way
    return layout, (parsed, blanks)


def _parse(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Dates and numbers parsed (NaT / NaN where they do not parse), and a mask of blank values per column."""
    parsed = raw.copy()
    parsed["date"] = pd.to_datetime(raw["date"], errors="coerce", format="%Y-%m-%d")
    blank = {"date": _blank_where(raw["date"], parsed["date"].isna())}
    for column in [c for c in NUMERIC_COLUMNS if c in raw.columns]:
        numbers = pd.to_numeric(raw[column], errors="coerce").astype(np.float64)
        # The values found to be numbers, parsed again by Python's float (correctly rounded, as Arrow's reader
        # is): pandas' parser can be a unit off in the last place on long decimals, and a file must give the
        # same prices whichever way it is read.
        parses = numbers.notna().to_numpy()
        try:
            numbers[parses] = raw[column].to_numpy(object)[parses].astype(np.float64)
        except (TypeError, ValueError):  # a spelling pandas reads and Python does not: pandas' value stands
            pass
        parsed[column] = numbers
        blank[column] = _blank_where(raw[column], parsed[column].isna())
    return parsed, blank


def _find_bad_rows(parsed: pd.DataFrame, blanks: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """A mask of bad rows per reason, for the parsed frame and its blanks."""
    reasons: dict[str, pd.Series] = {}
    blank = pd.concat(list(blanks.values()), axis=1).any(axis=1)
    reasons["blank values"] = blank
    reasons["unparsable date (expected YYYY-MM-DD)"] = parsed["date"].isna() & ~blank
    for column in list(blanks)[1:]:
        reasons[f"unparsable number in {column!r}"] = parsed[column].isna() & ~blank
        reasons[f"infinite {column!r}"] = np.isinf(parsed[column])
        too_small = parsed[column] < 0 if column == "volume" else parsed[column] <= 0
        reasons[f"{'negative' if column == 'volume' else 'zero or negative'} {column!r}"] = too_small
    reasons["high < low"] = parsed["high"] < parsed["low"]
    key = ["ticker", "date"] if "ticker" in parsed.columns else ["date"]
    reasons["duplicate date"] = parsed["date"].notna() & parsed.duplicated(key, keep="first")
    return {reason: mask for reason, mask in reasons.items() if mask.any()}


def _apply_bad_row_policy(
    parsed: pd.DataFrame, blanks: dict[str, pd.Series], path: Path, on_bad_rows: str
) -> pd.DataFrame:
    """Fail on bad rows, naming each reason and its lines, or drop them and say so (``_parse``'s frame and
    blanks, or ``_read_typed``'s)."""
    empty = [c for c, blank in blanks.items() if blank.all()]
    if empty:  # dropping rows cannot mend a column without a single value
        raise DataError(f"{path}: column(s) {', '.join(map(repr, empty))} have no values on any line")
    reasons = _find_bad_rows(parsed, blanks)
    if not reasons:
        return parsed
    details = "; ".join(f"{reason} on lines {_describe_lines(_line_numbers(mask))}" for reason, mask in reasons.items())
    bad = pd.concat(list(reasons.values()), axis=1).any(axis=1)
    if on_bad_rows == "fail":
        raise DataError(
            f"{path}: {int(bad.sum())} bad rows: {details}. Fix the file, or pass --on-bad-rows drop to skip them."
        )
    log.warning("%s: dropped %d bad rows: %s", path, int(bad.sum()), details)
    return parsed.loc[~bad].copy()  # a frame of its own: the caller adds columns


def read_csv_prices(path: str | Path, ticker: str | None = None, on_bad_rows: str = "fail") -> pd.DataFrame:
    """Read one CSV file of either layout into the common price table.

    Bad rows (blanks, unparsable values, non-positive prices, high < low, repeated
    dates) raise DataError naming their lines, or are dropped with a warning when
    ``on_bad_rows="drop"``.

    Example:
        >>> prices = read_csv_prices("../shared/data/AAPL.csv")  # doctest: +SKIP
        >>> prices["ticker"].unique().tolist()  # doctest: +SKIP
        ['AAPL']
    """
    path = Path(path)
    if on_bad_rows not in BAD_ROW_POLICIES:
        raise DataError(f"--on-bad-rows must be one of {BAD_ROW_POLICIES}, not {on_bad_rows!r}")
    typed = _read_typed(path)
    if typed is not None:
        layout, (parsed, blanks) = typed
    else:  # a value that is not of its column's type, a ragged line, ...: read as text, to name each
        raw = _read_text_table(path)
        if raw.empty:
            raise SourceError(f"{path}: the file has a header but no rows")
        layout = detect_layout(list(raw.columns), path)
        parsed, blanks = _parse(raw.rename(columns=_common_names(list(raw.columns), layout)))
    if layout == "yahoo":
        parsed["ticker"] = validate_ticker(ticker or path.stem)
        parsed = _apply_bad_row_policy(parsed, blanks, path, on_bad_rows)
    else:
        parsed = _apply_bad_row_policy(parsed, blanks, path, on_bad_rows)
        parsed["adj_close"] = parsed["close"]
        parsed["ticker"] = parsed["ticker"].map({t: validate_ticker(t) for t in parsed["ticker"].unique()})
    _check_date_order(parsed, path)
    log.debug("%s: %s layout, %d rows, %d tickers", path, layout, len(parsed), parsed["ticker"].nunique())
    return normalise_prices(parsed, origin=str(path))


def _check_date_order(parsed: pd.DataFrame, path: Path) -> None:
    """Refuse a file whose dates go backwards within a ticker: newest-first exports or pasted-together
    files are sorted by their author, not guessed at here. Tickers may interleave (date-major long files)."""
    earlier = parsed["date"] < parsed.groupby("ticker", sort=False)["date"].cummax()
    if earlier.any():
        first = int(earlier.idxmax())
        row = parsed.loc[first]
        raise DataError(
            f"{path}: rows are not in date order: line {first + _HEADER_LINES + 1} ({row['ticker']} "
            f"{row['date']:%Y-%m-%d}) comes after a later date, on lines "
            f"{_describe_lines(_line_numbers(earlier))}; sort the file oldest first"
        )


def load_csv(paths: list[str | Path], tickers: list[str] | None = None, on_bad_rows: str = "fail") -> pd.DataFrame:
    """Read several CSV files and keep the requested tickers (all when ``tickers`` is None)."""
    if not paths:
        raise SourceError("--source csv needs at least one file: --csv FILE [FILE ...]")
    frames = [read_csv_prices(p, on_bad_rows=on_bad_rows) for p in paths]
    prices = pd.concat(frames, ignore_index=True)
    if tickers:
        wanted = [validate_ticker(t) for t in tickers]
        absent = sorted(set(wanted) - set(prices["ticker"]))
        if absent:
            raise DataError(f"tickers {absent} are not in {[str(p) for p in paths]}")
        prices = prices[prices["ticker"].isin(wanted)]
    return normalise_prices(prices, origin=", ".join(str(p) for p in paths))
