"""Paths and defaults in one place. Every default works out of the box.

Environment variables override the paths so the same code runs from a checkout,
a notebook folder or a cluster job:

- ``FORECASTER_DATA_DIR``: where prices, prepared tables, models and reports live (default ``data/`` of the
  checkout; installed with pip, ``~/.local/share/forecaster``).
- ``FORECASTER_SPARK_MASTER``: the Spark master URL (default ``local[*]``).
- ``FORECASTER_SPARK_REMOTE``: a Spark Connect URL (``sc://host:15002``); when set, used instead of a master.
- ``FORECASTER_SPARK_DRIVER_MEMORY``: driver memory in local mode (default ``4g``).
- ``FORECASTER_SPARK_JAVA_OPTIONS``: JVM options of the local-mode driver (default: C1 JIT only, for start-up).
- ``FORECASTER_VERBOSE``: show Spark's and JAX's own start-up messages (``--verbose`` sets it).
- ``FORECASTER_COMPILE_CACHE``: where JAX keeps the network's compiled code between runs (default
  ``~/.cache/forecaster/jax``; ``off`` turns it off).

Everything a job needs is one ``RunOptions``; the model's hyper-parameters are one ``ModelConfig``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from forecaster.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _default_data_dir() -> Path:
    """``data/`` of the checkout the code runs from; for an installed package (whose folder is site-packages,
    never a place for data), the user's data folder: ``$XDG_DATA_HOME/forecaster`` or
    ``~/.local/share/forecaster``."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "data"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "forecaster"


#: Where artifacts go when neither ``--data-dir`` nor ``FORECASTER_DATA_DIR`` is given.
DEFAULT_DATA_DIR = _default_data_dir()
#: The same, as ``--help`` says it (the same words on every machine, so the docs' command reference holds).
DEFAULT_DATA_DIR_TEXT = "data/ of the checkout; installed with pip: ~/.local/share/forecaster"

DEFAULT_SPARK_MASTER = "local[*]"
#: Driver memory in local mode (where the driver also does the executors' work).
DEFAULT_SPARK_DRIVER_MEMORY = "4g"

#: Features the model sees, by name; each is defined in ``forecaster.prepare.table``.
DEFAULT_FEATURES: tuple[str, ...] = (
    "log_return",  # log(adj_close_t / adj_close_{t-1}): the series the target is made of
    "open_rel",  # log(open / close): the day's open against its close
    "high_rel",  # log(high / close)
    "low_rel",  # log(low / close)
    "log_volume",  # log(1 + volume), z-scored per ticker like every feature
)

#: The default test period is the last this-many trading days (one year) ...
DEFAULT_TEST_DAYS = 252
#: ... but never more than this share of the history.
MAX_TEST_SHARE = 0.2

#: Share of the pre-test history (after the gap) whose targets form the validation split.
DEFAULT_VAL_SHARE = 0.15

#: What to do with a day whose price is missing: drop the day, or carry the previous day's value forward.
MISSING_POLICIES: tuple[str, ...] = ("drop", "ffill")

#: Where ``run`` and ``prepare`` take prices from (``cache``: what fetch/import stored, no network).
SOURCES: tuple[str, ...] = ("yahoo", "csv", "sample", "cache")

#: Days of the moving-average baseline (``--ma-window``); at most the lookback.
DEFAULT_MA_WINDOW = 20

#: The cross-sectional tests and the portfolio backtest need at least this many tickers on a day
#: (``--min-cross-section``): below it, a day's correlation across tickers, or its deciles, mean little.
DEFAULT_MIN_CROSS_SECTION = 30

#: The cost of trading charged by the portfolio backtest, in basis points per half-turn (``--cost-bps``).
DEFAULT_COST_BPS = 5.0

#: The ranking model's settings (``--ranking``): its loss (``forecaster.model.ranking.LOSSES``), or ``off``.
RANKING_CHOICES: tuple[str, ...] = ("ic", "mse", "off")

#: Tickers the offline sample data set offers with enough history to train on.
SAMPLE_TICKERS: tuple[str, ...] = ("AAPL", "GOOG", "IBM", "MSFT")


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the LSTM and its training.

    The defaults were chosen on validation data only. For the MSE network of earlier versions
    (``benchmarks/tune.py``) lookback 20 with one layer of 32 units beat lookback 60 and 2 layers /
    64 units on AAPL (train < 2017). For the quantile ensemble (``benchmarks/tune_intervals.py``,
    AAPL and 20 S&P tickers) Adam at 1e-3 reached a lower validation pinball loss than 1e-4 in
    fewer epochs, two members as much as three or five, and the volatility features nothing.
    The figures are in docs/results.md, "Choosing the settings".

    Example:
        >>> ModelConfig(epochs=2).lookback
        20
    """

    lookback: int = 20  # trading days the model sees before each forecast origin
    horizon: int = 5  # trading days forecast at once (direct multi-step output)
    layers: int = 1  # stacked LSTM layers
    units: int = 32  # cells per LSTM layer
    dropout: float = 0.1  # dropout after each LSTM layer, against over-fitting noise
    learning_rate: float = 1e-3  # Adam step size (the pinball loss's gradients are bounded; 1e-4 did not converge)
    batch_size: int = 64
    epochs: int = 20  # upper bound; early stopping on validation loss usually ends sooner
    patience: int = 5  # epochs without validation improvement before stopping
    seed: int = 42  # seeds Python, NumPy and the backend: same seed, same metrics on CPU
    ranking: str = "ic"  # the ranking model's loss (RANKING_CHOICES; "off": none); trained in global mode when the
    # training days hold at least --min-cross-section tickers
    members: int = 2  # LSTMs trained together as one model, each with its own early stopping; their quantiles
    # are averaged. Beyond 2, validation pinball loss moved by noise only, at 1.5-2x the training time (docs/results.md)

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict for model cards and reports."""
        return asdict(self)


@dataclass(frozen=True)
class RunOptions:
    """Everything the ``run`` job needs (``prepare`` and ``forecast`` use the relevant part).

    Example:
        >>> RunOptions(source="sample").test_start is None
        True
    """

    source: str = "sample"  # one of SOURCES
    tickers: list[str] | None = None  # None: every ticker of the source (the sample: SAMPLE_TICKERS)
    csv_paths: list[str] = field(default_factory=list)
    on_bad_rows: str = "fail"  # CSV rows that are blank or invalid: fail naming them, or drop them
    test_start: str | None = None  # YYYY-MM-DD; None = the last DEFAULT_TEST_DAYS trading days
    val_share: float = DEFAULT_VAL_SHARE
    features: tuple[str, ...] = DEFAULT_FEATURES
    missing: str = "drop"  # one of MISSING_POLICIES
    model: ModelConfig = field(default_factory=lambda: ModelConfig())
    data_dir: Path = field(default_factory=lambda: data_dir())
    master: str | None = None
    remote: str | None = None  # Spark Connect URL; used instead of master when given
    report_path: Path | None = None
    verbose: int = 2  # Keras fit verbosity: 2 = one line per epoch, 0 = silent
    per_ticker: bool = False  # one model per ticker instead of one global model
    folds: int = 1  # walk-forward folds over the test period (each retrains on all history before it)
    ma_window: int = DEFAULT_MA_WINDOW  # days of the moving-average baseline (at most the lookback)
    min_cross_section: int = DEFAULT_MIN_CROSS_SECTION  # tickers a day needs for the cross-sectional tests
    cost_bps: float = DEFAULT_COST_BPS  # the portfolio backtest's cost per half-turn, in basis points
    mlflow_uri: str | None = None  # log the run to this MLflow tracking URI (needs requirements-mlflow.txt)
    resume: str | None = None  # continue this unfinished run (its id); None: the newest with the same options
    fresh: bool = False  # start afresh even when an unfinished run with the same options could be continued


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: the argument, else ``FORECASTER_DATA_DIR``, else ``data/``.

    A path, or a ``file://`` URI. Not ``hdfs://`` or ``s3a://`` (yet): the data
    directory must be a file system that the driver and every executor mount at the same path.
    Raises ConfigError for any other URI.

    Example:
        >>> str(data_dir("file:///srv/forecaster"))
        '/srv/forecaster'
    """
    chosen = override if override is not None else os.environ.get("FORECASTER_DATA_DIR")
    if not chosen:
        return DEFAULT_DATA_DIR
    text = os.fspath(chosen)
    # A scheme of two letters or more, then ":/" ("C:" is a drive; "backup:2024" a folder name).
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]+):/", text)
    if scheme:
        text = _file_uri_path(text, scheme.group(1).lower())
    # Absolute, because Spark resolves relative paths on whichever machine runs the task or the Connect server.
    return Path(text).absolute()


def _file_uri_path(uri: str, scheme: str) -> str:
    """The local path of a ``file:`` URI; ConfigError for any other scheme or a file URI naming another host."""
    parts = urlsplit(uri)
    if scheme != "file":
        raise ConfigError(
            f"data dir {uri}: {scheme}:// is not supported; the data directory must be a file system that the "
            "driver and every executor mount at the same path (a local disk on one machine, or NFS, an HDFS NFS "
            "gateway, an s3fs/mountpoint-s3 mount on a cluster) - give that path"
        )
    if parts.netloc not in ("", "localhost") or not parts.path or parts.query or parts.fragment:
        raise ConfigError(f"data dir {uri}: a file URI must be file:///absolute/path (no host, query or fragment)")
    return url2pathname(parts.path)


#: ``refresh`` retrains when the model's data ends more than this many trading days (about a month) before the
#: newest price: long enough that a daily refresh does not retrain daily, short enough that a model never misses
#: a quarter.
DEFAULT_RETRAIN_AFTER = 21


def retrain_after(override: int | None = None) -> int:
    """Trading days a model may fall behind the newest price before ``refresh`` retrains it: the argument, else
    ``FORECASTER_RETRAIN_AFTER`` (also what the dashboard's "Refresh prices" job uses), else 21.

    Example:
        >>> retrain_after(5), retrain_after() == int(os.environ.get("FORECASTER_RETRAIN_AFTER", 21))
        (5, True)
    """
    if override is not None:
        return override
    text = os.environ.get("FORECASTER_RETRAIN_AFTER", "").strip()
    if not text:
        return DEFAULT_RETRAIN_AFTER
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"FORECASTER_RETRAIN_AFTER={text!r}: give a whole number of trading days, 1 or more")
    return int(text)


def spark_master(override: str | None = None) -> str:
    """The Spark master URL: the argument, else ``FORECASTER_SPARK_MASTER``, else ``local[*]``."""
    return override or os.environ.get("FORECASTER_SPARK_MASTER") or DEFAULT_SPARK_MASTER


def spark_remote(override: str | None = None) -> str | None:
    """A Spark Connect URL (``sc://host:15002``): the argument, else ``FORECASTER_SPARK_REMOTE``, else None.

    When set, every stage runs through Spark Connect instead of starting its own driver.
    """
    return override or os.environ.get("FORECASTER_SPARK_REMOTE") or None


#: JVM options of the local-mode Spark driver. C1 only: a short job spends much of its time compiling Java with
#: the optimising C2 compiler, which pays off only in long ones. Measured on 2 cores: the sample run 22.4 s
#: against 25.8 s, and `prepare` of the S&P 500 file (619,040 rows) 20.5 s against 24-25 s.
DEFAULT_SPARK_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1"


def spark_java_options() -> str:
    """Local-mode driver JVM options: ``FORECASTER_SPARK_JAVA_OPTIONS``, else ``DEFAULT_SPARK_JAVA_OPTIONS``
    (set it to an empty string for the JVM's defaults, e.g. for hours-long jobs on one big machine)."""
    return os.environ.get("FORECASTER_SPARK_JAVA_OPTIONS", DEFAULT_SPARK_JAVA_OPTIONS)


def verbose() -> bool:
    """Whether ``FORECASTER_VERBOSE`` (set by ``--verbose``) asks for every library's own messages."""
    return os.environ.get("FORECASTER_VERBOSE", "") not in ("", "0")


def user_cache_dir() -> Path:
    """The folder of this user's caches that only speed things up (``$XDG_CACHE_HOME/forecaster``, else
    ``~/.cache/forecaster``): deleting it loses nothing."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "forecaster"


def cache_path(variable: str, default: Callable[[], Path | None]) -> Path | None:
    """A cache's location from the environment variable ``variable``: a path, ``off`` (or 0, no, false) for
    none, or unset for ``default()`` (called only then: a default may cost something to work out)."""
    chosen = os.environ.get(variable, "")
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    return Path(chosen) if chosen else default()


def compile_cache_dir() -> Path | None:
    """Where JAX keeps compiled XLA code between processes: ``FORECASTER_COMPILE_CACHE``, else
    ``user_cache_dir()/jax``; None when set to ``off``. A run compiles the same small network in every new
    process (the CLI, each Spark Python worker); with the cache, the sample run took 21.9 s instead of 27.5 s
    (``benchmarks/cli_times.py --compare compile-cache``)."""
    return cache_path("FORECASTER_COMPILE_CACHE", lambda: user_cache_dir() / "jax")


def spark_driver_memory() -> str:
    """Local-mode driver memory: ``FORECASTER_SPARK_DRIVER_MEMORY``, else 4g."""
    return os.environ.get("FORECASTER_SPARK_DRIVER_MEMORY") or DEFAULT_SPARK_DRIVER_MEMORY


def data_dir_argument(text: str) -> Path:
    """The argparse type of ``--data-dir`` (forecaster and dashboard): an absolute path, or a usage error
    that says what is wrong."""
    try:
        return data_dir(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def program_name(module: str) -> str:
    """The name a command's ``--help`` shows: ``forecaster`` (the installed console script) or
    ``python -m forecaster`` (from a checkout), whichever started this process."""
    launched = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return f"python -m {module}" if launched in ("", "__main__.py", "-m", "-c") else launched


#: Up to this many tickers, the printed report and forecast have a row per ticker and step; beyond, a summary.
TABLE_TICKERS = 20
TABLE_CHOICES = ("auto", "all", "summary")


def every_row(table: str, tickers: int) -> bool:
    """Whether a printed table of ``tickers`` has every ticker's rows: ``all``, or ``auto`` up to
    ``TABLE_TICKERS``; ``summary`` never.

    Example:
        >>> every_row("auto", 20), every_row("auto", 21), every_row("all", 2_655)
        (True, False, True)
    """
    if table not in TABLE_CHOICES:
        raise ConfigError(f"table must be one of {TABLE_CHOICES}, not {table!r}")
    return table == "all" or (table == "auto" and tickers <= TABLE_TICKERS)
