"""One SparkSession per process: local Spark with Delta Lake, or the Databricks session.

Locally the session is classic PySpark (a JVM in this process) unless a Spark Connect
address is set: ``$MLOPS_SPARK_REMOTE`` or the setting ``spark_remote`` (for example
``local[2]``, which starts a local Spark Connect server with the same configuration,
or ``sc://host:15002``). Spark Connect is the API of Databricks serverless compute,
so a local Connect run checks that the steps use nothing serverless lacks.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from importlib import metadata, resources
from pathlib import Path

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from ..settings_file import RuntimeSettings
from . import class_archive
from .connect_port import LOCAL_CONNECT_PORT, PortWaitTimeout, hold_local_connect_port
from .delta_jars import forget_jars, record_jars, with_recorded_jars
from .errors import SparkStartError

MIN_JAVA = 17
REMOTE_VAR = "MLOPS_SPARK_REMOTE"
SESSION_TIME_ZONE = "UTC"
_LOCAL_DEFAULTS = {
    "spark.master": "local[2]",
    "spark.sql.session.timeZone": SESSION_TIME_ZONE,
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.shuffle.partitions": "8",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "4g",
    # A Python worker (foreachBatch over Spark Connect, UDFs) may take long to start on a
    # busy machine: wait for it to connect back longer than the default 15 s.
    "spark.python.authenticate.socketTimeout": "120s",
    # Local files through Hadoop's raw local file system, as on cloud storage: the default
    # (LocalFileSystem) writes a hidden .crc checksum file beside every Parquet and Delta
    # log file and checks it on read, and without Hadoop's native library each file
    # created or renamed costs a `chmod` or `readlink` process, the .crc files included.
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    "spark.hadoop.fs.AbstractFileSystem.file.impl": "org.apache.hadoop.fs.local.RawLocalFs",
    # The JVM's throughput collector. G1, the default, started 116 concurrent marking
    # cycles beside the queries of the unit tests, each on a large allocation (a
    # broadcast's 4 MB block buffer, an aggregation's memory page). Spark puts these
    # options before spark.driver.extraJavaOptions, which stays yours; to choose another
    # collector, set spark.driver.defaultJavaOptions in spark_conf. Both settings
    # together, measured on 2 cores: run-all on the full data in 76 s instead of 82 s,
    # the unit tests in 261 s instead of 290 s.
    "spark.driver.defaultJavaOptions": "-XX:+UseParallelGC",
}


# Loggers of local Spark that log a failed task's whole Java stack trace at ERROR, before
# the same failure reaches the driver, which raises it (the pipeline turns a source's bad
# value into one line, :func:`..sources.parse_errors`): set to FATAL, which Spark does not
# log at, by :func:`quiet_task_failures`.
TASK_FAILURE_LOGGERS = (
    "org.apache.spark.executor.Executor",
    "org.apache.spark.scheduler.TaskSetManager",
)


def quiet_task_failures(spark: SparkSession) -> None:
    """Set the :data:`TASK_FAILURE_LOGGERS` of the classic local session ``spark`` to FATAL.

    A failed task then prints no stack trace on stderr: the error raised in Python holds
    it (and its cause), and other loggers keep the session's level (ERROR).
    """
    jvm = spark.sparkContext._jvm
    fatal = jvm.org.apache.logging.log4j.Level.FATAL
    for name in TASK_FAILURE_LOGGERS:
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, fatal)


# PySpark's own loggers of an error raised with a query context (a DataFrame call site or
# SQL text): when the exception is made, before any code catches it, they print it as a
# JSON line with its whole stack at ERROR, even when the pipeline then turns it into one
# line (:mod:`.entry_status`); an error no code catches keeps its query context in its
# own message. :func:`quiet_query_context_logs` sets them to CRITICAL, which they do not
# log at.
QUERY_CONTEXT_LOGGERS = ("DataFrameQueryContextLogger", "SQLQueryContextLogger")


def quiet_query_context_logs() -> None:
    """Set PySpark's :data:`QUERY_CONTEXT_LOGGERS` of this Python process to CRITICAL."""
    from pyspark.logger import PySparkLogger

    for name in QUERY_CONTEXT_LOGGERS:
        # PySpark's class: a plain logging.Logger made first would refuse its keywords.
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


# Held while :func:`get_spark` finds or starts the session and sets its time zone. A thread
# that asks while another starts it waits until the session is started and set up (log
# level, quiet loggers, recorded jars), instead of getting it half set up as soon as it is
# the active one; and one start's stdout redirect (:func:`jvm_stdout_to_stderr`) is never
# saved and restored by another.
_START_LOCK = threading.Lock()


def java_executable() -> str | None:
    """The ``java`` Spark runs: ``$JAVA_HOME/bin/java`` when JAVA_HOME is set (whether or
    not it exists), else the one on PATH, else None."""
    home = os.environ.get("JAVA_HOME")
    return os.path.join(home, "bin", "java") if home else shutil.which("java")


@functools.lru_cache(maxsize=8)
def java_version_text(java: str) -> str:
    """What ``java -version`` prints (on stderr, then stdout) for the executable ``java``
    (a path); read once per process. Raises OSError when ``java`` cannot be run."""
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    return out.stderr + out.stdout


def java_major_version(java: str | None = None) -> int:
    """Major version of the ``java`` on JAVA_HOME or PATH (for example 17).

    Raises SparkStartError when no Java is found or its version cannot be read.
    """
    java = java or java_executable()
    if not java or not os.path.exists(java):
        raise SparkStartError(
            f"Java not found: local Spark needs Java {MIN_JAVA}+ on PATH or JAVA_HOME"
        )
    text = java_version_text(java)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        raise SparkStartError(f"Java at {java} did not report a version: {text.strip()}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def require_java(java: str | None = None) -> int:
    """The Java major version, checked to be at least 17 (see :func:`java_major_version`).

    Raises SparkStartError, one line, when Java is missing or too old.
    """
    major = java_major_version(java)
    if major < MIN_JAVA:
        raise SparkStartError(f"Java {major} found: local Spark needs Java {MIN_JAVA} or newer")
    return major


def delta_maven_coordinate() -> str:
    """Maven coordinate of the Delta jar that matches the installed delta-spark and pyspark.

    For example ``io.delta:delta-spark_4.1_2.13:4.2.0`` (Spark 4.1, Scala 2.13).
    """
    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{metadata.version('delta-spark')}"


def utc_session(spark: SparkSession) -> SparkSession:
    """``spark`` with its session time zone set to UTC, returned for chaining.

    Spark renders and parses timestamps without an offset (``date_format``,
    ``to_timestamp`` of a naive string, ``toPandas``) in the session time zone,
    which otherwise defaults to the JVM's (or the workspace's) zone. Works over
    Spark Connect (Databricks serverless) too: it is a plain ``spark.conf.set``.
    """
    spark.conf.set("spark.sql.session.timeZone", SESSION_TIME_ZONE)
    return spark


def spark_remote(settings: RuntimeSettings) -> str | None:
    """The Spark Connect address of a local run, or None for classic local Spark.

    ``$MLOPS_SPARK_REMOTE`` when set and not empty, else the setting ``spark_remote``
    (for example ``local[2]`` or ``sc://localhost:15002``), else None.
    """
    return os.environ.get(REMOTE_VAR) or settings.raw.get("spark_remote") or None


def is_connect(spark: SparkSession) -> bool:
    """True when ``spark`` is a Spark Connect session (no JVM in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _stdout_at_stderr() -> int | None:
    """Point file descriptor 1 at what fd 2 is; return a copy of the old fd 1, or None
    (nothing changed) when either descriptor is closed."""
    try:
        saved = os.dup(1)
    except OSError:
        return None
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(saved)
        return None
    return saved


@contextmanager
def jvm_stdout_to_stderr() -> Iterator[None]:
    """While the block runs, this process's standard output (file descriptor 1) is its
    standard error, so a JVM started inside it (local Spark, a local Spark Connect
    server) writes its own output to stderr for as long as it lives.

    The JVM prints Ivy's ``:: loading settings :: file = ...`` on its stdout, which it
    shares with this process: without this, a step's JSON on stdout (``ingest | jq``)
    would not parse. Python's stdout is flushed before and fd 1 restored after, also
    when the block raises. With fd 1 or fd 2 closed, the block runs as is. The
    descriptor is the process's: output of other threads goes to stderr meanwhile
    (:func:`get_spark` holds a lock, so two starts never overlap).
    """
    if sys.stdout is not None:
        with suppress(OSError, ValueError):  # a closed or broken stdout: nothing to flush
            sys.stdout.flush()
    saved = _stdout_at_stderr()
    try:
        yield
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def local_conf(settings: RuntimeSettings) -> dict[str, str]:
    """The settings of a local Spark start for ``settings``: :data:`_LOCAL_DEFAULTS`, the
    Delta jar of the installed delta-spark to resolve (``spark.jars.packages``, with the
    package's ``ivysettings.xml``), the warehouse under ``settings.local_root``, and
    ``settings.spark_conf`` over them, and the JVM in UTC (:func:`with_utc_jvm`)."""
    ivy = resources.files(__package__).joinpath("ivysettings.xml")
    return with_utc_jvm(
        {
            **_LOCAL_DEFAULTS,
            "spark.jars.packages": delta_maven_coordinate(),
            "spark.jars.ivySettings": str(ivy),
            "spark.sql.warehouse.dir": str(settings.local_root / "spark-warehouse"),
            **settings.spark_conf,
        }
    )


# The local driver JVM's own time zone, as on Databricks, whose clusters' JVMs run in UTC
# (the session time zone is set apart, SESSION_TIME_ZONE). In any other JVM zone Delta
# checks the file list each commit writes into its checksum file (``_delta_log/*.crc``)
# against a full rebuild of the table's state (tables whose checksum holds the file list:
# up to 50 files), a few Spark jobs per commit, whenever the session zone, the JVM's zone
# or user.timezone does not name UTC: its setting
# allFilesInCrc.verificationMode.forceOnNonUTC.enabled.
UTC_JVM_OPTION = "-Duser.timezone=UTC"
JVM_TIME_ZONE_PROPERTY = "-Duser.timezone="


def with_utc_jvm(conf: dict[str, str]) -> dict[str, str]:
    """``conf`` of a local start with :data:`UTC_JVM_OPTION` after its
    ``spark.driver.defaultJavaOptions``, unless the user's Java options already set the
    JVM's time zone (``-Duser.timezone=``), then that choice stands: in either Java
    options setting, the environment's (``JAVA_TOOL_OPTIONS``, ``JDK_JAVA_OPTIONS``,
    ``_JAVA_OPTIONS``) or ``PYSPARK_SUBMIT_ARGS`` (:func:`.class_archive.user_java_options`)."""
    if JVM_TIME_ZONE_PROPERTY in class_archive.user_java_options(conf):
        return conf
    key = class_archive.JAVA_OPTION_SETTINGS[0]
    return {**conf, key: f"{conf.get(key, '')} {UTC_JVM_OPTION}".strip()}


def spark_jars_folder() -> Path:
    """The folder of the installed pyspark's jars, ``<pyspark>/jars`` (the path, which may
    not exist): the driver's class path of a local start without SPARK_HOME, the only
    kind that gets the class-data archive (:func:`class_archive_inputs`)."""
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def class_archive_inputs(conf: Mapping[str, str]) -> tuple[str, Path] | None:
    """The ``java`` executable and Spark's jar folder (:func:`spark_jars_folder`) of a
    local start with ``conf`` when it should get the class-data archive
    (:func:`.class_archive.in_use`, given ``java -version`` and the ``conf`` folder
    beside the jars); None when not, or when no Java can be found or run (the start says
    so itself). Raises nothing."""
    java = java_executable()
    if not java or not os.path.exists(java):
        return None
    try:
        version = java_version_text(java)
    except OSError:
        return None
    jars = spark_jars_folder()
    return (java, jars) if class_archive.in_use(conf, version, jars.parent / "conf") else None


def with_class_archive(conf: dict[str, str]) -> dict[str, str]:
    """``conf`` of a local start with the class-data archive's HotSpot options
    (:func:`.class_archive.java_options`, which may create, rename or remove files in the
    archives' folder) after its ``spark.driver.defaultJavaOptions``; ``conf`` unchanged
    when :func:`class_archive_inputs` says no archive, or there are no options. Raises
    nothing the start did not."""
    inputs = class_archive_inputs(conf)
    extra = class_archive.java_options(conf, *inputs) if inputs else ""
    if not extra:
        return conf
    given = conf.get("spark.driver.defaultJavaOptions", "")
    return {**conf, "spark.driver.defaultJavaOptions": f"{given} {extra}".strip()}


def running_session() -> SparkSession | None:
    """This thread's active session, else the session another thread of this process
    started (the active session is per thread), else None.

    Without the second, a thread of its own (a writer thread, a server's handler) would
    build a session, and the builder applies its settings to the running session.
    """
    try:
        return SparkSession.active()
    except PySparkRuntimeError:
        return None


def get_spark(settings: RuntimeSettings) -> SparkSession:
    """The process-wide SparkSession for ``settings.runtime``, with UTC session time.

    On Databricks this is the cluster's (or serverless) session. Locally it is
    ``local[2]`` with Delta Lake and the jars of the installed delta-spark,
    resolved from Maven Central at the first start (cached in ~/.ivy2.5.2) and named
    directly at the next ones (:mod:`.delta_jars`).
    With a Spark Connect address (:func:`spark_remote`) it is a Connect session;
    ``local[N]`` starts a local Connect server with the Delta configuration, once no other
    process (of those sharing the temporary folder) runs one
    (:func:`.connect_port.hold_local_connect_port`).
    A session this process already runs is returned (:func:`running_session`), its
    settings unchanged but for the time zone, also to a thread that has not used it yet.
    Every path, an already running session included, sets the session time zone to UTC
    (:func:`utc_session`). A JVM started here writes to stderr
    (:func:`jvm_stdout_to_stderr`): stdout holds only what the commands print; classic
    local Spark logs at ERROR, without the stack traces of failed tasks
    (:func:`quiet_task_failures`), and a local session's errors are not logged by PySpark
    when they are raised (:func:`quiet_query_context_logs`). Threads that ask at the same
    time get one session, after it is set up (:data:`_START_LOCK`). Raises SparkStartError
    when Java is missing or older than 17, when the Delta jars cannot be resolved, or when
    another process holds the local Connect server's port (too long, or without the lock).
    """
    with _START_LOCK:
        running = running_session()
        return utc_session(running if running is not None else _start_session(settings))


def _connect_port_taken(error: str) -> bool:
    """Whether the text of a failed start's error says the Connect server could not bind
    its port (not another service, such as the driver's own port)."""
    return "java.net.BindException" in error and "SparkConnectService" in error


def _start_session(settings: RuntimeSettings) -> SparkSession:
    """The session for ``settings`` when this process runs none yet (see :func:`get_spark`,
    which holds :data:`_START_LOCK` while this runs): on Databricks the one
    ``SparkSession.builder.getOrCreate()`` gives (the cluster's or serverless), else a
    local one started and set up here."""
    if settings.runtime == "databricks":
        return SparkSession.builder.getOrCreate()
    require_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    conf = local_conf(settings)
    package = conf["spark.jars.packages"]
    remote = spark_remote(settings)
    builder = SparkSession.builder.appName(settings.model_short_name)
    local_server = bool(remote) and remote.startswith("local")
    if remote:  # local[N]: the master of a local Connect server; else a server's address
        builder = builder.remote(remote)
        conf.pop("spark.master")
    if local_server:  # one local Connect server at a time: wait for another process's
        try:
            hold_local_connect_port()
        except PortWaitTimeout as err:
            raise SparkStartError(f"Spark did not start: {err}") from err
    # The jar files an earlier start resolved, when they are all still there (delta_jars.py).
    start = with_recorded_jars(conf)
    if not remote or local_server:  # a JVM started here
        start = with_class_archive(start)
    resolving = "spark.jars.packages" in start
    for key, value in start.items():
        builder = builder.config(key, value)
    try:
        with warnings.catch_warnings(), jvm_stdout_to_stderr():
            # A Connect client re-sets the server's static settings and warns for each.
            warnings.filterwarnings("ignore", message="Failed to set spark", category=UserWarning)
            spark = builder.getOrCreate()
    except Exception as err:  # the JVM prints Ivy's report; we add the one line that matters
        class_archive.forget(start.get("spark.driver.defaultJavaOptions", ""))
        if local_server and _connect_port_taken(str(err)):
            raise SparkStartError(
                f"Spark did not start: the local Spark Connect server could not listen on "
                f"port {LOCAL_CONNECT_PORT}, which another process holds; stop it, or use "
                f"it: MLOPS_SPARK_REMOTE (or spark_remote) sc://localhost:{LOCAL_CONNECT_PORT}"
            ) from err
        if not resolving:
            forget_jars(conf)
            raise SparkStartError(
                f"Spark did not start ({type(err).__name__}) with the Delta Lake jar files "
                f"an earlier start resolved; their record is removed, so the next start "
                f"resolves {package} again"
            ) from err
        raise SparkStartError(
            f"Spark did not start ({type(err).__name__}): most often the Delta Lake jar "
            f"{package} could not be resolved from Maven Central (see the Ivy report above); "
            "check the network, or set spark.jars.repositories in the package's conf/config.yml"
        ) from err
    if not is_connect(spark):
        spark.sparkContext.setLogLevel("ERROR")
        quiet_task_failures(spark)
        if resolving:
            record_jars(conf, spark.sparkContext.getConf().get("spark.jars", ""))
    quiet_query_context_logs()
    return spark
