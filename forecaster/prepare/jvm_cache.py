"""A class-data-sharing archive of Spark's classes for the driver JVM: Spark starts in about half the time.

A short job spends most of its first seconds loading and verifying some 16,000 of Spark's classes. Java's
class-data sharing (CDS) keeps them, parsed and verified, in one memory-mapped file. Measured on this project's
2-core machine: a session with its first query in 4.0 s with the archive against 7.9 s without.

The archive belongs to one Java installation and one pyspark installation (its name carries a digest of
both), lives in the user's cache folder (``$XDG_CACHE_HOME/forecaster``, else ``~/.cache/forecaster``; or
``FORECASTER_SPARK_CLASS_ARCHIVE=path``; ``=off`` disables it) and is built once: ``python -m
forecaster.prepare.jvm_cache`` records the classes a small representative job loads, then has Java write
them out (about 45 s of CPU, 190 MB). The command line starts that build in the background, at low
priority, the first time a local Spark command finishes without an archive. A JVM that finds an archive of
another Java or Spark ignores it and starts as usual.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecaster.prepare.class_archive import ARCHIVE_ENV, archive_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: JVM module option pyspark's launcher passes; the archive must be written under the same module graph.
MODULE_OPTIONS = ("--add-modules=jdk.incubator.vector",)
#: Archives kept in the cache folder (one per Java and environment; each is about 200 MB): the newest.
KEEP_ARCHIVES = 3


def _keep_newest(folder: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest archives in ``folder`` (other environments' and Java versions')."""
    archives = sorted(folder.glob("spark-classes-*.jsa"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in archives[keep:]:
        old.unlink(missing_ok=True)
        old.with_suffix(".log").unlink(missing_ok=True)


def _lock(path: Path) -> Path | None:
    """An exclusive lock file beside ``path`` (None when another live build holds it)."""
    lock = path.with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            holder = int(lock.read_text() or "0")
            os.kill(holder, 0)
            return None  # a build is running
        except (ValueError, ProcessLookupError, PermissionError):
            lock.unlink(missing_ok=True)  # left by a build that was killed
            return _lock(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(str(os.getpid()))
    return lock


def _build_command() -> list[str]:
    return [sys.executable, "-m", "forecaster.prepare.jvm_cache"]


def build_and_wait(timeout_s: float = 900) -> Path | None:
    """``build`` in a process of its own (it stops the JVM it starts, which a process can start only once),
    and wait for it; returns the archive when there is one."""
    path = archive_path()
    if path is None or path.is_file():
        return path
    subprocess.run(
        _build_command(),
        check=False,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return path if path.is_file() else None


def start_background_build() -> bool:
    """Start ``build`` in a detached, low-priority process if no archive exists and none is being built;
    True when one was started."""
    path = archive_path()
    if path is None or path.is_file() or path.with_suffix(".lock").exists():
        return False
    log_path = path.with_suffix(".log")
    path.parent.mkdir(parents=True, exist_ok=True)
    command = _build_command()
    if shutil.which("nice"):
        command = ["nice", "-n", "19", *command]
    with open(log_path, "w") as out:
        subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=Path(__file__).resolve().parents[2],
        )
    log.info(
        "building a start-up archive of Spark's classes in the background, once (%s): later Spark "
        "commands start about 4 s sooner",
        path,
    )
    return True


def _representative_job(spark: SparkSession, folder: Path) -> None:
    """What the jobs do, on two small synthetic tickers: preparation, the forecast's query, a Python UDF."""
    import numpy as np
    import pandas as pd

    from forecaster.data import cache
    from forecaster.prepare.table import add_features, apply_scaling, clean_prices, prepare

    days = pd.bdate_range("2015-01-01", periods=600)
    rng = np.random.default_rng(0)
    for ticker in ("AAA", "BBB"):
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
        cache.write_ticker(
            folder,
            ticker,
            pd.DataFrame(
                {
                    "ticker": ticker,
                    "date": days,
                    "open": close,
                    "high": close * 1.01,
                    "low": close * 0.99,
                    "close": close,
                    "adj_close": close,
                    "volume": 1e6,
                }
            ),
            "synthetic",
            "none",
        )
    paths = [cache.prices_path(folder, t) for t in ("AAA", "BBB")]
    prepared = prepare(spark, paths, folder / "prepared", lookback=20, horizon=5)
    features = prepared.features
    rows = add_features(clean_prices(spark.read.parquet(*map(str, paths))), features)
    scaled = apply_scaling(
        rows.drop("usable").withColumn("split", rows["ticker"]),
        spark.read.parquet(str(prepared.scaling_path)),
        features,
    )
    scaled.toPandas()
    spark.range(4).mapInPandas(lambda batches: batches, "id long").collect()  # Python workers, Arrow


def build() -> Path | None:
    """Record the classes a representative local job loads, and have Java write them into the archive.
    Returns the archive, or None when disabled, already there, or being built by another process.

    Run it as ``python -m forecaster.prepare.jvm_cache`` (or ``build_and_wait``): it starts and then ends a
    Spark driver JVM, after which its process cannot start another.
    """
    path = archive_path()
    if path is None or path.is_file():
        return path
    lock = _lock(path)
    if lock is None:
        return None
    work = Path(tempfile.mkdtemp(prefix="forecaster-classes-"))
    try:
        class_list = work / "classes.lst"
        os.environ[ARCHIVE_ENV] = "off"  # the recording JVM must not use an archive itself
        from forecaster import config
        from forecaster.prepare.session import get_spark

        os.environ["FORECASTER_SPARK_JAVA_OPTIONS"] = (
            f"{config.spark_java_options()} -XX:DumpLoadedClassList={class_list}"
        )
        spark = get_spark("local[2]", app_name="forecaster-class-archive")
        gateway: Any = spark.sparkContext._gateway  # py4j's, started by this process: never None here
        class_path = gateway.jvm.System.getProperty("java.class.path")
        java = Path(gateway.jvm.System.getProperty("java.home")) / "bin" / "java"
        _representative_job(spark, work / "data")
        spark.stop()
        gateway.proc.stdin.close()  # the JVM exits on end of input, writing the last of the class list
        gateway.proc.wait(timeout=120)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(
            [
                str(java),
                "-Xshare:dump",
                f"-XX:SharedClassListFile={class_list}",
                f"-XX:SharedArchiveFile={partial}",
                "-cp",
                class_path,
                *MODULE_OPTIONS,
                "-Xlog:disable",
            ],
            check=True,
            timeout=900,
            stdout=subprocess.DEVNULL,
        )
        os.replace(partial, path)
        log.info("wrote %s (%.0f MB)", path, path.stat().st_size / 1e6)
        _keep_newest(path.parent, KEEP_ARCHIVES)
        return path
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for leftover in path.parent.glob(f"{path.stem}.*.tmp"):
            leftover.unlink(missing_ok=True)
        lock.unlink(missing_ok=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(build())
