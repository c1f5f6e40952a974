"""One place that starts Spark, so every stage gets the same, correct session."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark import SparkContext
from pyspark.sql import DataFrameWriter, SparkSession

from forecaster import config
from forecaster.errors import ArtifactError
from forecaster.prepare import class_archive

log = logging.getLogger(__name__)


def get_spark(master: str | None = None, remote: str | None = None, app_name: str = "forecaster") -> SparkSession:
    """Start (or reuse) a SparkSession on ``master`` (default: ``config.spark_master()``), or connect
    to a Spark Connect server at ``remote`` (``sc://host:port``; default: ``config.spark_remote()``).

    Sets ``PYSPARK_PYTHON`` to this interpreter first: otherwise Spark's Python
    workers may start another Python without this project's packages.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    remote = config.spark_remote(remote)
    if remote:
        # The server owns the cluster settings; a client may set only runtime SQL options.
        spark = SparkSession.builder.remote(remote).appName(app_name).getOrCreate()
        for key, value in SQL_OPTIONS.items():
            spark.conf.set(key, value)
        log.info("Spark %s via Spark Connect at %s", spark.version, remote)
        return spark
    if master is None and not os.environ.get("FORECASTER_SPARK_MASTER"):
        master = _submitted_master()  # below the option and the variable, above the local[*] default
    master = config.spark_master(master)
    if master.startswith("local"):
        # Local mode needs no network interface; binding to loopback also silences
        # Spark's "hostname resolves to a loopback address" warning.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master).appName(app_name).config("spark.ui.showConsoleProgress", "false")
    for key, value in SQL_OPTIONS.items():
        builder = builder.config(key, value)
    if master.startswith("local"):
        # Daily prices are small per ticker: 200 shuffle partitions would be mostly empty tasks.
        # In local mode the driver is the executor: Spark's 1 GiB default spills on thousands of tickers.
        # Adaptive execution re-plans between stages, as one job each; on one machine's few partitions there is
        # nothing to coalesce, and the extra jobs cost the sample run 2 s (measured: 13 jobs against 8).
        # The JVM options (config.spark_java_options) trade peak JIT speed for start-up: see there.
        builder = (
            builder.config("spark.sql.shuffle.partitions", str(_local_cores(master)))
            .config("spark.ui.enabled", "false")
            .config("spark.sql.adaptive.enabled", "false")
            .config(
                "spark.driver.extraJavaOptions", f"{config.spark_java_options()} {class_archive.java_options()}".strip()
            )
            .config("spark.driver.memory", config.spark_driver_memory())
        )
    elif class_archive.java_options():
        builder = builder.config("spark.driver.extraJavaOptions", class_archive.java_options())  # our client driver
    started = SparkContext._active_spark_context is None
    with _quiet_start():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # Said once, when the session starts; later calls get the same session.
    log.log(logging.INFO if started else logging.DEBUG, "Spark %s session on %s", spark.version, master)
    return spark


#: Bytes of Spark's own messages kept in ``spark_log_path`` before the file starts afresh.
SPARK_LOG_LIMIT = 20_000_000


def spark_log_path() -> Path:
    """Where Spark's JVM writes its own messages (the banner, log4j warnings) unless ``--verbose``."""
    return Path(tempfile.gettempdir()) / f"forecaster-spark-{os.getuid()}.log"


@contextmanager
def _quiet_start() -> Iterator[None]:
    """Start the JVM with its standard error in a log file, unless ``config.verbose()``: its banner, log4j's
    default-profile notice and native-library warnings are nothing a user can act on. Errors still reach the
    user through the Python exceptions that carry them.

    Also silences JAX's fork warning: pyspark starts the JVM with fork + exec, which is safe however many
    threads JAX runs (the warning is for a fork that goes on running Python).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        if config.verbose() or SparkContext._active_spark_context is not None:
            yield
            return
        log_path = spark_log_path()
        if log_path.is_file() and log_path.stat().st_size > SPARK_LOG_LIMIT:
            log_path.unlink(missing_ok=True)  # keep the last runs' messages, not every run's
        saved = os.dup(2)
        try:
            with open(log_path, "ab") as jvm_log:
                os.dup2(jvm_log.fileno(), 2)  # the JVM (and Spark's Python workers) inherit this descriptor
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.debug("Spark's own messages go to %s", log_path)


def started_a_driver() -> bool:
    """Whether this process started a Spark driver JVM of its own (not spark-submit's, not Spark Connect)."""
    return SparkContext._active_spark_context is not None and "PYSPARK_GATEWAY_PORT" not in os.environ


def _local_cores(master: str) -> int:
    """The task slots of a ``local``, ``local[N]`` or ``local[*]`` master."""
    inside = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
    return os.cpu_count() or 1 if inside.startswith("*") else max(1, int(inside.split(",")[0]))


def _submitted_master() -> str | None:
    """The master of the ``spark-submit`` that started this process, if one did: otherwise our default
    ``local[*]`` would quietly override it."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # set only in a Python driver that spark-submit started
        return None
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connects to spark-submit's JVM, whose configuration holds the master
    return SparkConf().get("spark.master", None)


# Set on every session, classic or Connect.
SQL_OPTIONS = {
    # Dates are calendar days; a session time zone other than UTC would shift them.
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def parallelism(spark: SparkSession) -> int:
    """How many tasks keep the cluster busy: its cores (classic), or the shuffle partitions (Connect, where the
    client cannot see the cluster)."""
    if is_connect(spark):
        return int(spark.conf.get("spark.sql.shuffle.partitions") or 200)  # always set: 200 is Spark's default
    return spark.sparkContext.defaultParallelism


def is_connect(spark: SparkSession) -> bool:
    """True for a Spark Connect session (no SparkContext on this side)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


# What the JVM says when a write hits a full disk or quota; Spark wraps it in a long task-failure trace.
_DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "File too large")


def write_parquet(writer: DataFrameWriter, path: Path) -> None:
    """``writer.parquet(path)``, turning a full disk into an ArtifactError that names ``path``.

    Spark writes into temporary task folders and commits at the end, so a failed
    write leaves no partial table where a reader would take it for a whole one.
    """
    try:
        writer.parquet(str(path))
    except Exception as exc:  # Py4JJavaError or pyspark's captured Java exceptions
        if any(text in str(exc) for text in _DISK_FULL_TEXT):
            raise ArtifactError(
                f"{path}: not written, no space left on the device; nothing was published and earlier data is unchanged"
            ) from None
        raise


_SHIPPED: set[int] = set()
_SHIPPING = threading.Lock()  # jobs of one session may start from several threads (GARCH beside training)


def package_archive(folder: Path) -> Path:
    """``folder/forecaster.zip``: every module of the ``forecaster`` package, as ``--py-files`` takes it."""
    package = Path(__file__).resolve().parents[1]
    archive = folder / "forecaster.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for source in sorted(package.rglob("*.py")):
            bundle.write(source, source.relative_to(package.parent))
    return archive


def ship_package(spark: SparkSession) -> None:
    """Make ``forecaster`` importable in the executors' Python workers (what ``--py-files`` does), once per
    session: tasks that train or score call into it, and a cluster's workers do not have this checkout."""
    with _SHIPPING:
        if id(spark) in _SHIPPED:
            return
        archive = package_archive(Path(tempfile.mkdtemp(prefix="forecaster-pyfiles-")))
        if is_connect(spark):
            spark.addArtifacts(str(archive), pyfile=True)
        else:
            spark.sparkContext.addPyFile(str(archive))
        _SHIPPED.add(id(spark))
        log.info("shipped the forecaster package to the executors (%s)", archive)


@contextmanager
def sql_options(spark: SparkSession, options: dict[str, str]) -> Iterator[None]:
    """Runtime SQL options for one job, restored afterwards (works on classic and Connect sessions)."""
    before = {key: spark.conf.get(key, None) for key in options}
    for key, value in options.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in before.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)


@contextmanager
def job_group(spark: SparkSession, name: str) -> Iterator[Callable[[], int | None]]:
    """Label the Spark jobs started inside the block with ``name``; yields a function that counts them (None
    on Spark Connect, where the client cannot see jobs). The count shows a stage's fixed costs: every job
    is a round of planning, scheduling and task start-up."""
    if is_connect(spark):
        yield lambda: None
        return
    context = spark.sparkContext
    group = f"{name}-{id(name)}-{os.getpid()}"
    context.setJobGroup(group, name)
    try:
        yield lambda: len(context.statusTracker().getJobIdsForGroup(group))
    finally:
        # None removes a property (as SparkContext.clearJobGroup does), which pyspark's annotation leaves out.
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
