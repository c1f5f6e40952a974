"""One place that starts Spark, so every stage gets the same, correct session."""

from __future__ import annotations

import logging
import os
import sys

from pyspark.sql import SparkSession

from forecaster import config

log = logging.getLogger(__name__)


def get_spark(master: str | None = None, app_name: str = "forecaster") -> SparkSession:
    """Start (or reuse) a SparkSession on ``master`` (default: ``config.spark_master()``).

    Sets ``PYSPARK_PYTHON`` to this interpreter first: otherwise Spark's Python
    workers may start another Python without this project's packages.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    master = config.spark_master(master)
    if master.startswith("local"):
        # Local mode needs no network interface; binding to loopback also silences
        # Spark's "hostname resolves to a loopback address" warning.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        # Dates are calendar days; a session time zone other than UTC would shift them.
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        # Daily prices are small per ticker: 200 shuffle partitions would be mostly empty tasks.
        # In local mode the driver is the executor: Spark's 1 GiB default spills on thousands of tickers.
        builder = (builder.config("spark.sql.shuffle.partitions", "8").config("spark.ui.enabled", "false")
                   .config("spark.driver.memory", config.spark_driver_memory()))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    log.info("Spark %s session on %s", spark.version, master)
    return spark
