"""A class-data archive of the local Spark driver JVM (HotSpot's dynamic CDS), made once.

A local Spark start loads and verifies some ten thousand classes of Spark's jars, and
loads them again in every new process. HotSpot (JDK 13 and newer) can write the classes a
JVM loaded to an archive file when it exits (``-XX:ArchiveClassesAtExit``) and map that
file at the next start (``-XX:SharedArchiveFile``), which skips parsing and verifying
them. Figures are in the README ("Local Spark").

The archive depends on the Java installation, Spark's jars and the driver's JVM settings:
its file name is a hash of them (:func:`archive_key`), so a change gets a new archive.
System properties (``-D<name>=<value>``) other than the few HotSpot's archive code reads
(:data:`ARCHIVE_PROPERTIES`) are not part of it: a start that only adds one shares the
archive. A start that finds a complete archive for its key maps it; one that finds none
asks its JVM to write one at exit, under a name of its own, with the JVM's archive log
beside it. HotSpot crashes (SIGBUS) on a truncated archive, so a written file is used
only once its log holds the line HotSpot writes after closing the file; it is then
flushed to disk and renamed to the key's archive. A start that fails forgets its dump
and the archive it mapped (:func:`forget`), so the next start writes a new one.

The folder is ``$XDG_CACHE_HOME/spark-class-archives`` (``~/.cache`` when unset); an
archive takes 150 to 240 MB, and one unused for :data:`UNUSED_DAYS` days is removed.
Nothing is added (:func:`in_use`) with ``MLOPS_SPARK_CLASS_ARCHIVE=off``, on Windows
(PySpark ends the JVM there without letting it write), for a Java that is not HotSpot,
when the driver's Java options hold an archive option of their own, or when a folder
is on the driver's class path (``SPARK_CONF_DIR`` and the like: HotSpot cannot archive
then).
"""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

from .hashed_name import hashed_name

SWITCH_VAR = "MLOPS_SPARK_CLASS_ARCHIVE"
OFF_VALUES = frozenset({"off", "0", "false", "no"})
# The line HotSpot logs (tag cds+dynamic, level info) once the archive file is written
# and closed.
WRITTEN = "Written dynamic archive"
# A dump without that line after this many seconds (counted from its JVM's start) is
# taken for dead and removed; the next start asks for a new one.
DUMP_TIMEOUT_SECONDS = 24 * 3600
UNUSED_DAYS = 30
# HotSpot options of an archive of the user's own, or that turn off what a dynamic
# archive needs (the JDK's base archive, compressed class pointers): with any of them in
# the Java options, none is added (HotSpot would refuse to start with both).
OWN_ARCHIVE_OPTIONS = (
    "-Xshare",
    "SharedArchiveFile",
    "ArchiveClassesAtExit",
    "SharedClassListFile",
    "AutoCreateSharedArchive",
    "RecordDynamicDumpInfo",
    "UseSharedSpaces",
    "CompressedClassPointers",
    "AOTCache",
    "AOTMode",
    "AOTConfiguration",
)
# The driver's Java options, which the archive depends on and a user's own archive
# options would be in.
JAVA_OPTION_SETTINGS = ("spark.driver.defaultJavaOptions", "spark.driver.extraJavaOptions")
# The driver settings the archive depends on besides Java, the jars and the Java options.
KEYED_SETTINGS = ("spark.driver.extraClassPath", "spark.driver.memory")
# The system properties HotSpot's archive code reads (JDK 17 and newer): the class path the
# archive is checked against, the system class loader (with one set, no class of the
# application is taken from the archive), the main module and the two that turn off the
# archived module graph. Any other ``-D<name>=<value>`` in the Java options is left out
# of the key: the JVM writes and accepts the same archive with or without it.
ARCHIVE_PROPERTIES = frozenset(
    {
        "java.class.path",
        "java.system.class.loader",
        "jdk.module.main",
        "jdk.module.showModuleResolution",
        "jdk.module.validation",
    }
)
# Files of the Java installation (relative to its home, the folder above ``bin/java``)
# that a dynamic archive is tied to: the runtime image of the JDK's modules, the JVM
# library (its build) and the base archives it extends. A JDK updated in place can change
# them without changing ``bin/java``; HotSpot would then silently refuse the archive at
# every start, so a change gives a new key.
JDK_FILES = (
    "lib/modules",
    "lib/server/libjvm.so",
    "lib/server/libjvm.dylib",
    "lib/server/classes.jsa",
    "lib/server/classes_nocoops.jsa",
)
# Environment variables whose Java options every JVM started here takes.
JAVA_OPTION_VARS = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")
# Environment variables that put folders on the driver's class path (spark-submit's
# launcher; SPARK_HOME's conf folder): HotSpot cannot write an archive with a non-empty
# folder there.
CLASS_PATH_FOLDERS = (
    "SPARK_HOME",
    "SPARK_CONF_DIR",
    "HADOOP_CONF_DIR",
    "YARN_CONF_DIR",
    "SPARK_DIST_CLASSPATH",
    "SPARK_PREPEND_CLASSES",
    "SPARK_TESTING",
)
# Characters a folder path may hold: HotSpot's -Xlog reads ':' and '%', Spark's launcher
# drops '\' and splits at spaces.
_SAFE_PATH = re.compile(r"[A-Za-z0-9_./+-]+")
_QUIET = "-Xlog:cds*=off"  # HotSpot's archive messages: none on the JVM's stdout


def default_folder() -> Path | None:
    """``$XDG_CACHE_HOME/spark-class-archives``, or ``~/.cache/spark-class-archives``;
    None when there is no home folder to put it in."""
    cache = os.environ.get("XDG_CACHE_HOME")
    if not cache:
        try:
            cache = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no HOME and no passwd entry
            return None
    return Path(cache) / "spark-class-archives"


def user_java_options(conf: Mapping[str, str]) -> str:
    """Every Java option the user gives the local driver JVM, as one text: ``conf``'s
    :data:`JAVA_OPTION_SETTINGS`, the environment's :data:`JAVA_OPTION_VARS` and
    ``PYSPARK_SUBMIT_ARGS`` (its ``--driver-java-options``), space-separated."""
    return " ".join(
        [
            *(conf.get(key, "") for key in JAVA_OPTION_SETTINGS),
            *(os.environ.get(name, "") for name in (*JAVA_OPTION_VARS, "PYSPARK_SUBMIT_ARGS")),
        ]
    )


def in_use(conf: Mapping[str, str], java_version: str, conf_folder: Path | None = None) -> bool:
    """Whether a local start with ``conf`` should get an archive (see the module's text).

    ``java_version``: what ``java -version`` printed, run with this environment's Java
    options: HotSpot with its base archive says ``Server VM`` (or ``Client VM``) and
    ``sharing``; OpenJ9 says ``OpenJ9``. ``conf_folder``: the folder Spark's launcher puts
    first on the class path (``conf`` beside Spark's jars), which must be empty or absent.
    False as well when an option of :data:`OWN_ARCHIVE_OPTIONS` is in the driver's Java
    options, the environment's or ``PYSPARK_SUBMIT_ARGS`` (:func:`user_java_options`), or
    a variable of :data:`CLASS_PATH_FOLDERS` or ``spark.driver.extraClassPath`` is set.
    """
    if os.environ.get(SWITCH_VAR, "").strip().lower() in OFF_VALUES or sys.platform == "win32":
        return False
    if "OpenJ9" in java_version or not re.search(r"(Server|Client) VM", java_version):
        return False
    if "sharing" not in java_version:  # no base archive: a dynamic one cannot be made
        return False
    own = user_java_options(conf)
    if any(option in own for option in OWN_ARCHIVE_OPTIONS):
        return False
    if conf.get("spark.driver.extraClassPath") or any(
        os.environ.get(name) for name in CLASS_PATH_FOLDERS
    ):
        return False
    try:
        return conf_folder is None or not any(conf_folder.iterdir())
    except OSError:  # absent (or unreadable, which Spark's launcher would skip too)
        return True


def _stamp(path: Path) -> list:
    """Path, size and modification time of ``path``; the path alone when it is missing."""
    try:
        info = path.stat()
    except OSError:
        return [str(path)]
    return [str(path), info.st_size, info.st_mtime_ns]


def _keyed_options(options: str | None) -> list[str]:
    """The tokens (split at whitespace) of the Java options ``options`` (None: none) an
    archive depends on: all but the system properties ``-D<name>[=<value>]`` whose name
    is not in :data:`ARCHIVE_PROPERTIES`, in their order."""
    return [
        token
        for token in (options or "").split()
        if not token.startswith("-D") or token[2:].split("=", 1)[0] in ARCHIVE_PROPERTIES
    ]


def archive_key(conf: Mapping[str, str], java: str, spark_jars: Path) -> str:
    """The name (:func:`.hashed_name.hashed_name`) of the archive for a start with ``conf``.

    In: the settings a local start passes to Spark, the ``java`` executable Spark runs and
    the folder of Spark's jars (``pyspark/jars``). The hash covers the Java executable
    (resolved path, size, time), the files of its installation in :data:`JDK_FILES`
    (path, size, time) and every jar in ``spark_jars`` (name, size, time), which HotSpot
    checks the archive against, the driver settings in :data:`KEYED_SETTINGS`,
    and the driver's Java options (:data:`JAVA_OPTION_SETTINGS`) and the environment's
    (:data:`JAVA_OPTION_VARS`) without their other system properties
    (:func:`_keyed_options`).
    """
    jars = sorted(spark_jars.glob("*.jar")) if spark_jars.is_dir() else []
    executable = Path(os.path.realpath(java))
    facts = {
        "java": _stamp(executable),
        "jdk": [_stamp(executable.parent.parent / name) for name in JDK_FILES],
        "jars": [_stamp(jar) for jar in jars],
        "settings": {key: conf.get(key) for key in KEYED_SETTINGS},
        "options": {key: _keyed_options(conf.get(key)) for key in JAVA_OPTION_SETTINGS},
        "environment": {name: _keyed_options(os.environ.get(name)) for name in JAVA_OPTION_VARS},
    }
    return hashed_name(facts)


def _written(log: Path, dump: Path) -> bool:
    """Whether the archive log ``log`` says HotSpot wrote and closed the archive ``dump``,
    and ``dump`` holds at least the bytes the log's line counts (``[... N bytes total]``)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
        size = dump.stat().st_size
    except OSError:
        return False
    line = next((line for line in text.splitlines() if WRITTEN in line), None)
    total = re.search(r"(\d+) bytes total", line or "")
    return line is not None and (total is None or size >= int(total.group(1)))


def _remove(*paths: Path) -> None:
    for path in paths:
        with suppress(OSError):
            path.unlink()


def _mtime(path: Path, default: float) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return default


def _promote(dump: Path, archive: Path) -> None:
    """Flush the finished ``dump`` to disk, then rename it to ``archive`` (a crash after
    the rename cannot leave a short file under the archive's name)."""
    with suppress(OSError):
        handle = os.open(dump, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(dump, archive)


def _settle_dumps(folder: Path, key: str, now: float) -> bool:
    """Make a finished dump of ``key`` its archive ``<key>.jsa``; remove dead dumps.

    A dump is ``<key>.<id>.jsa`` with its log ``<key>.<id>.log``. Finished (its log holds
    :data:`WRITTEN`): the first becomes the archive (:func:`_promote`), the others are
    removed. Unfinished and older than :data:`DUMP_TIMEOUT_SECONDS`, or a dump without
    its log (:func:`forget` removed it while its JVM still wrote) older than that:
    removed. Returns whether an unfinished dump younger than that remains (a JVM may
    still run, to write it at its exit).
    """
    pending = False
    for dump in folder.glob(f"{key}.*.jsa"):
        orphan = not dump.with_suffix(".log").exists()
        if orphan and now - _mtime(dump, now) > DUMP_TIMEOUT_SECONDS:
            _remove(dump)
    for log in sorted(folder.glob(f"{key}.*.log")):
        dump = log.with_suffix(".jsa")
        if _written(log, dump):
            if not (folder / f"{key}.jsa").exists():
                _promote(dump, folder / f"{key}.jsa")
            _remove(dump, log)
        elif now - _mtime(log, now) > DUMP_TIMEOUT_SECONDS:
            _remove(dump, log)
        else:
            pending = True
    return pending


def _prune(folder: Path, now: float) -> None:
    """Remove the archives (``<key>.jsa``) of ``folder`` unused for :data:`UNUSED_DAYS`
    days (a use sets the file's time, :func:`java_options`)."""
    for archive in folder.glob("*.jsa"):
        if "." not in archive.stem and now - _mtime(archive, now) > UNUSED_DAYS * 86400:
            _remove(archive)


def usable_folder(folder: Path | None = None) -> Path | None:
    """``folder`` (default :func:`default_folder`) when archives can be kept there: its path
    holds only letters, digits and ``_./+-`` (HotSpot's ``-Xlog`` and Spark's launcher
    misread other characters), it exists or can be created, and this user may write and
    search it; None otherwise. Raises nothing."""
    folder = folder or default_folder()
    if folder is None or not _SAFE_PATH.fullmatch(str(folder)):
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK | os.X_OK) else None


def java_options(
    conf: Mapping[str, str],
    java: str,
    spark_jars: Path,
    folder: Path | None = None,
    now: float | None = None,
) -> str:
    """HotSpot options to add to the driver's Java options of a local start with ``conf``.

    Call it only when :func:`in_use` says so. ``-XX:SharedArchiveFile=<archive>`` when a
    complete archive for the start's key (:func:`archive_key`) is in ``folder`` (default
    :func:`default_folder`; its time is set to ``now``, for :func:`_prune`); else
    ``-XX:ArchiveClassesAtExit=<dump>`` with the archive log (created empty here) beside
    it, unless another start's dump of the same key may still be written (then nothing
    is added). Empty as well when the folder is not usable (:func:`usable_folder`).
    Renames finished dumps and removes
    dead dumps and unused archives in ``folder`` (:func:`_settle_dumps`,
    :func:`_prune`). ``now``: the time (seconds since the epoch) to judge files by.
    Raises nothing: a file error means no options.
    """
    folder = usable_folder(folder)
    if folder is None:
        return ""
    try:
        return _options(conf, java, spark_jars, folder, time.time() if now is None else now)
    except OSError:  # a folder this user cannot write or search: no archive
        return ""


def _options(conf: Mapping[str, str], java: str, spark_jars: Path, folder: Path, now: float) -> str:
    """:func:`java_options` for a ``folder`` with a safe path; raises OSError when the
    folder cannot be created, read or written."""
    folder.mkdir(parents=True, exist_ok=True)
    key = archive_key(conf, java, spark_jars)
    pending = _settle_dumps(folder, key, now)
    archive = folder / f"{key}.jsa"
    with suppress(OSError):
        os.utime(archive, (now, now))  # used now: kept by _prune
    _prune(folder, now)
    if archive.exists():
        return f"{_QUIET} -XX:SharedArchiveFile={archive}"
    if pending:
        return ""
    stem = f"{key}.{uuid.uuid4().hex[:12]}"
    log = folder / f"{stem}.log"
    log.touch()  # marks the dump as begun, for the next start's _settle_dumps
    return (
        f"{_QUIET} -XX:ArchiveClassesAtExit={folder / f'{stem}.jsa'} "
        f"-Xlog:cds+dynamic=info:file={log}::filecount=0"
    )


def forget(options: str) -> None:
    """Forget what ``options`` (from :func:`java_options`) named, after the JVM given them
    failed to start: the dump it was asked for and its log (its archive would hold only
    the classes of the failure), or the archive it mapped (which may be why it failed: a
    damaged file crashes HotSpot), so that the next start writes a new one. A file that
    cannot be removed is left (nothing is raised)."""
    for option in ("-XX:ArchiveClassesAtExit=", "-XX:SharedArchiveFile="):
        match = re.search(rf"{option}(\S+)", options)
        if match:
            path = Path(match.group(1))
            _remove(path, path.with_suffix(".log"))
