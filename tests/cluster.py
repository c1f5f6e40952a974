"""A real Spark standalone cluster on this machine, from what pyspark ships: a master, workers of one
core each and, if asked, a Spark Connect server, all bound to 127.0.0.1.

Used by ``tests/test_cluster.py`` and ``benchmarks/scale.py``::

    with LocalCluster(workers=2, connect=True) as cluster:
        run(... master=cluster.master_url)       # or remote=cluster.connect_url
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen | None, log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((LOOPBACK, port)) == 0:
                return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.3)
    raise RuntimeError(f"nothing listens on {LOOPBACK}:{port}; log {log}:\n{log.read_text()[-3000:]}")


class LocalCluster:
    """Master + ``workers`` workers (``cores`` each, ``memory`` each), optionally a Spark Connect server."""

    def __init__(
        self,
        workers: int = 2,
        cores: int = 1,
        memory: str = "3g",
        connect: bool = False,
        executor_env: dict[str, str] | None = None,
        pin_cores: bool = False,
        jvm_options: str = "",
        spark_defaults: dict[str, str] | None = None,
    ) -> None:
        self.n_workers, self.cores, self.memory, self.connect = workers, cores, memory, connect
        self.dir = Path(tempfile.mkdtemp(prefix="spark-cluster-"))
        self.env = {
            **os.environ,
            "SPARK_HOME": str(SPARK_HOME),
            "SPARK_LOCAL_IP": LOOPBACK,
            "SPARK_LOG_DIR": str(self.dir / "logs"),
            "SPARK_PID_DIR": str(self.dir / "pids"),
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            **(executor_env or {}),
        }  # executors inherit their worker's environment
        defaults = dict(spark_defaults or {})
        if jvm_options:
            # Every JVM of the cluster: master and workers through SPARK_DAEMON_JAVA_OPTS, executors and drivers
            # (the Connect server's included) through spark-defaults.conf.
            defaults.update(
                {"spark.executor.extraJavaOptions": jvm_options, "spark.driver.extraJavaOptions": jvm_options}
            )
            self.env["SPARK_DAEMON_JAVA_OPTS"] = jvm_options
        if defaults:
            # A client started with ``client_env`` reads the same file; what the application sets itself (the
            # product's local-mode defaults) still wins.
            conf_dir = self.dir / "conf"
            conf_dir.mkdir()
            (conf_dir / "spark-defaults.conf").write_text("".join(f"{k} {v}\n" for k, v in defaults.items()))
            self.env["SPARK_CONF_DIR"] = str(conf_dir)
        # Pin worker k (and the executor and Python workers it starts) to core k, so that "one core" is one
        # core: otherwise a one-worker cluster quietly uses every core for its JVMs and JAX's compiler.
        self.pin_cores = pin_cores
        self.master: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.master_port = free_port()
        self.connect_port = free_port()

    @property
    def client_env(self) -> dict[str, str]:
        """What a client's environment needs to start its JVMs like the cluster's (the Spark configuration)."""
        return {"SPARK_CONF_DIR": self.env["SPARK_CONF_DIR"]} if "SPARK_CONF_DIR" in self.env else {}

    @property
    def master_url(self) -> str:
        return f"spark://{LOOPBACK}:{self.master_port}"

    @property
    def connect_url(self) -> str:
        return f"sc://{LOOPBACK}:{self.connect_port}"

    def _spark_class(self, name: str, *args: str, cpus: str | None = None) -> subprocess.Popen:
        log = self.dir / f"{name}.log"
        pin = ["taskset", "-c", cpus] if cpus is not None else []
        return subprocess.Popen(
            [*pin, str(SPARK_HOME / "bin" / "spark-class"), *args],
            env=self.env,
            stdout=open(log, "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> LocalCluster:
        """Start everything and wait until the workers have registered (and Connect listens)."""
        webui = free_port()
        self.master = self._spark_class(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            LOOPBACK,
            "--port",
            str(self.master_port),
            "--webui-port",
            str(webui),
        )
        _wait_for_port(self.master_port, self.master, self.dir / "master.log")
        for k in range(self.n_workers):
            self.start_worker(k)
        self._wait_for_workers(webui)
        if self.connect:
            self._start_connect()
        return self

    def start_worker(self, k: int) -> subprocess.Popen:
        """Start worker ``k`` (also to replace one that was killed)."""
        work = self.dir / f"work-{k}"
        work.mkdir(exist_ok=True)
        worker = self._spark_class(
            f"worker-{k}",
            "org.apache.spark.deploy.worker.Worker",
            self.master_url,
            "--host",
            LOOPBACK,
            "--cores",
            str(self.cores),
            "--memory",
            self.memory,
            "--webui-port",
            str(free_port()),
            "--work-dir",
            str(work),
            cpus=str(k % (os.cpu_count() or 1)) if self.pin_cores else None,
        )
        if k < len(self.workers):
            self.workers[k] = worker
        else:
            self.workers.append(worker)
        return worker

    def _wait_for_workers(self, webui: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                state = json.loads(urllib.request.urlopen(f"http://{LOOPBACK}:{webui}/json/", timeout=5).read())
                if state.get("aliveworkers", 0) >= self.n_workers:
                    return
            except (OSError, ValueError):  # not listening yet, or an empty page while the UI starts
                pass
            time.sleep(0.5)
        raise RuntimeError(f"workers did not register with {self.master_url}; logs in {self.dir}")

    def _start_connect(self) -> None:
        script = SPARK_HOME / "sbin" / "start-connect-server.sh"
        subprocess.run(
            [
                str(script),
                "--master",
                self.master_url,
                "--conf",
                f"spark.connect.grpc.binding.port={self.connect_port}",
                "--conf",
                f"spark.connect.grpc.binding.address={LOOPBACK}",
                "--conf",
                f"spark.driver.host={LOOPBACK}",
                "--conf",
                f"spark.pyspark.python={sys.executable}",
                "--conf",
                "spark.sql.shuffle.partitions=8",
                # A standalone app keeps every core it was given; this one hands its executors back
                # when idle, so `--master` jobs on the same cluster are not starved.
                "--conf",
                "spark.dynamicAllocation.enabled=true",
                "--conf",
                "spark.dynamicAllocation.shuffleTracking.enabled=true",
                "--conf",
                "spark.dynamicAllocation.executorIdleTimeout=3s",
                "--conf",
                "spark.dynamicAllocation.shuffleTracking.timeout=3s",
            ],
            env=self.env,
            check=True,
            capture_output=True,
        )
        logs = sorted((self.dir / "logs").glob("*connect*.out"))
        _wait_for_port(self.connect_port, None, logs[0] if logs else self.dir / "missing.log")

    def kill_worker(self, k: int) -> None:
        """SIGKILL worker ``k`` and the executor it started (its whole process group)."""
        os.killpg(self.workers[k].pid, signal.SIGKILL)
        self.workers[k].wait(30)

    def stop(self) -> None:
        """Stop the Connect server, the workers and the master."""
        if self.connect:
            subprocess.run([str(SPARK_HOME / "sbin" / "stop-connect-server.sh")], env=self.env, capture_output=True)
        for process in [*self.workers, self.master]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
