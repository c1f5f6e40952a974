"""Where the class-data-sharing archive of Spark's classes lives, and the driver JVM options that use it.

The session (``forecaster.prepare.session``) reads the options here; the archive is built by
``forecaster.prepare.jvm_cache``, which runs a Spark job to record the classes: keeping the two apart keeps the
session from importing the job that starts it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from forecaster import config

ARCHIVE_ENV = "FORECASTER_SPARK_CLASS_ARCHIVE"
#: JVM logging: warnings (an archive of another Java, say) to standard error, where Spark's own output goes,
#: never to standard output, which is the user's.
LOG_OPTIONS = "-Xlog:disable -Xlog:all=warning:stderr"


def _java() -> Path | None:
    """The java that pyspark's launcher runs: ``$JAVA_HOME/bin/java``, else the first on the PATH."""
    home = os.environ.get("JAVA_HOME")
    found = Path(home) / "bin" / "java" if home else shutil.which("java")
    return Path(found).resolve() if found and Path(found).exists() else None


def _key() -> str | None:
    """A digest of the Java binary and of pyspark's jars (where, how big, when written): Java accepts an
    archive only for exactly the class path it was written from, so a reinstalled or moved environment gets an
    archive of its own."""
    import pyspark

    java = _java()
    if java is None:
        return None
    files = [java, *sorted((Path(pyspark.__file__).resolve().parent / "jars").glob("*.jar"))]
    text = "\n".join(f"{path} {path.stat().st_size} {int(path.stat().st_mtime)}" for path in files)
    return hashlib.sha256(f"{pyspark.__version__}\n{text}".encode()).hexdigest()[:16]


def archive_path() -> Path | None:
    """Where the archive of this Java and pyspark is (or would be); None when disabled or without Java."""

    def beside_the_other_caches() -> Path | None:
        key = _key()
        return None if key is None else config.user_cache_dir() / f"spark-classes-{key}.jsa"

    return config.cache_path(ARCHIVE_ENV, beside_the_other_caches)


def java_options() -> str:
    """Driver JVM options that use the archive, when it exists; else none."""
    path = archive_path()
    if path is None or not path.is_file():
        return ""
    return f"-XX:SharedArchiveFile={path} -Xshare:auto {LOG_OPTIONS}"
