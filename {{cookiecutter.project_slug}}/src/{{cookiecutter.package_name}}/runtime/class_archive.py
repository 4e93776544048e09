"""A class-data archive of the local Spark driver JVM (HotSpot's dynamic CDS), made once.

A local Spark start loads and verifies some ten thousand classes of Spark's jars, and
loads them again in every new process. HotSpot (JDK 13 and newer) can write the classes a
JVM loaded to an archive file when it exits (``-XX:ArchiveClassesAtExit``) and map that
file at the next start (``-XX:SharedArchiveFile``), which skips parsing and verifying
them. Measured on 2 cores (``benchmarks/run_all_vs_bare_fit.py`` on the full data, two
runs each, alternating): run-all's steps took 68.8 and 72.1 s with the archive, 83.4 and
78.8 s without; ingest, which holds the start, 17.5 to 17.9 s against 22.6 to 23.6 s.

The archive depends on the Java installation, Spark's jars and the driver's JVM settings:
its file name is a hash of them (:func:`archive_key`), so a change gets a new archive. A
start that finds a complete archive for its key maps it; one that finds none asks its JVM
to write one at exit, under a name of its own, with the JVM's archive log beside it. HotSpot
crashes (SIGBUS) on a truncated archive, so a written file is used only once its log holds
the line HotSpot writes after closing the file; then it is renamed to the key's archive.
A JVM killed while writing leaves a file that is never used, and removed after an hour.

The folder is ``$XDG_CACHE_HOME/spark-class-archives`` (``~/.cache`` when unset); an
archive takes 150 to 200 MB. ``MLOPS_SPARK_CLASS_ARCHIVE=off`` turns this off; so does
a CDS option of your own in ``spark.driver.extraJavaOptions`` or
``spark.driver.defaultJavaOptions``. JVMs that do not know these options (not HotSpot)
ignore them (``-XX:+IgnoreUnrecognizedVMOptions``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

SWITCH_VAR = "MLOPS_SPARK_CLASS_ARCHIVE"
# The line HotSpot logs (tag cds+dynamic, level info) once the archive file is written
# and closed.
WRITTEN = "Written dynamic archive"
# A dump without that line after this many seconds is taken for dead and removed.
DUMP_TIMEOUT_SECONDS = 3600
# HotSpot options a user may have set for an archive of their own: then none is added.
OWN_CDS_OPTIONS = ("-Xshare", "SharedArchiveFile", "ArchiveClassesAtExit", "SharedClassListFile")
# The driver settings the archive depends on besides Java and the jars.
KEYED_SETTINGS = (
    "spark.driver.defaultJavaOptions",
    "spark.driver.extraJavaOptions",
    "spark.driver.extraClassPath",
    "spark.driver.memory",
)


def default_folder() -> Path:
    """``$XDG_CACHE_HOME/spark-class-archives``, or ``~/.cache/spark-class-archives``."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "spark-class-archives"


def _stamp(path: Path) -> list:
    """Path, size and modification time of ``path``; the path alone when it is missing."""
    try:
        info = path.stat()
    except OSError:
        return [str(path)]
    return [str(path), info.st_size, info.st_mtime_ns]


def archive_key(conf: Mapping[str, str], java: str, spark_jars: Path) -> str:
    """The name (hex, 24 characters) of the archive for a start with ``conf``.

    In: the settings a local start passes to Spark, the ``java`` executable Spark runs and
    the folder of Spark's jars (``pyspark/jars``). The hash covers the Java executable
    (resolved path, size, time) and every jar in ``spark_jars`` (name, size, time), which
    HotSpot checks the archive against, and the driver settings in
    :data:`KEYED_SETTINGS`.
    """
    jars = sorted(spark_jars.glob("*.jar")) if spark_jars.is_dir() else []
    facts = {
        "java": _stamp(Path(os.path.realpath(java))),
        "jars": [_stamp(jar) for jar in jars],
        "settings": {key: conf.get(key) for key in KEYED_SETTINGS},
    }
    return hashlib.sha256(json.dumps(facts).encode("utf-8")).hexdigest()[:24]


def _written(log: Path) -> bool:
    """Whether the archive log ``log`` says HotSpot wrote and closed the archive."""
    try:
        return WRITTEN in log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _remove(*paths: Path) -> None:
    for path in paths:
        with suppress(OSError):
            path.unlink()


def _settle_dumps(folder: Path, key: str, now: float) -> bool:
    """Rename a finished dump of ``key`` to ``<key>.jsa``; remove dead ones.

    A dump is ``<key>.<id>.jsa`` with its log ``<key>.<id>.log``. Finished (its log holds
    :data:`WRITTEN`): the first is renamed to the key's archive, the others removed.
    Unfinished and older than :data:`DUMP_TIMEOUT_SECONDS`, or a dump without its log
    older than that: removed. Returns whether an
    unfinished dump younger than that remains (a JVM may still be writing it).
    """
    pending = False
    for dump in folder.glob(f"{key}.*.jsa"):  # its log removed (forget_dump), JVM late
        orphan = not dump.with_suffix(".log").exists()
        if orphan and now - _mtime(dump, now) > DUMP_TIMEOUT_SECONDS:
            _remove(dump)
    for log in sorted(folder.glob(f"{key}.*.log")):
        dump = log.with_suffix(".jsa")
        if _written(log) and dump.exists():
            if not (folder / f"{key}.jsa").exists():
                with suppress(OSError):
                    os.replace(dump, folder / f"{key}.jsa")
            _remove(dump, log)
        elif now - _mtime(log, now) > DUMP_TIMEOUT_SECONDS:
            _remove(dump, log)
        else:
            pending = True
    return pending


def _mtime(path: Path, default: float) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return default


def java_options(
    conf: Mapping[str, str],
    java: str,
    spark_jars: Path,
    folder: Path | None = None,
    now: float | None = None,
) -> str:
    """HotSpot options to add to the driver's Java options of a local start with ``conf``.

    ``-XX:SharedArchiveFile=<archive>`` when a complete archive for the start's key
    (:func:`archive_key`) is in ``folder`` (default :func:`default_folder`); else
    ``-XX:ArchiveClassesAtExit=<dump>`` with the archive log written beside it, unless
    another start's dump of the same key may still be in progress (then nothing is added).
    HotSpot's own messages about the archive are kept off stdout. Empty when
    ``$MLOPS_SPARK_CLASS_ARCHIVE`` is ``off`` (also ``0``, ``false``, ``no``), when
    ``conf``'s driver Java options already hold a CDS option (:data:`OWN_CDS_OPTIONS`),
    or when the folder cannot be created or its path holds a space or a quote. ``now``:
    the time (seconds since the epoch) to judge dumps by, for tests.
    """
    if os.environ.get(SWITCH_VAR, "").strip().lower() in {"off", "0", "false", "no"}:
        return ""
    own = " ".join(
        conf.get(key, "")
        for key in ("spark.driver.extraJavaOptions", "spark.driver.defaultJavaOptions")
    )
    if any(option in own for option in OWN_CDS_OPTIONS):
        return ""
    folder = folder or default_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return ""
    if any(char.isspace() or char in "\"'" for char in str(folder)):
        return ""  # Spark splits the Java options at spaces
    now = time.time() if now is None else now
    key = archive_key(conf, java, spark_jars)
    pending = _settle_dumps(folder, key, now)
    quiet = "-XX:+IgnoreUnrecognizedVMOptions -Xlog:cds*=off"
    archive = folder / f"{key}.jsa"
    if archive.exists():
        return f"{quiet} -XX:SharedArchiveFile={archive}"
    if pending:
        return ""
    stem = f"{key}.{uuid.uuid4().hex[:12]}"
    log = folder / f"{stem}.log"
    try:
        log.touch()  # marks the dump as begun, for the next start's _settle_dumps
    except OSError:
        return ""
    return (
        f"{quiet} -XX:ArchiveClassesAtExit={folder / f'{stem}.jsa'} "
        f"-Xlog:cds+dynamic=info:file={log}::filecount=0"
    )


def forget_dump(options: str) -> None:
    """Remove the dump that ``options`` (from :func:`java_options`) asked for, and its log,
    so that it never becomes the key's archive: called when the JVM given them failed to
    start, whose archive would hold only the classes of its failure. Nothing happens when
    ``options`` ask for no dump."""
    match = re.search(r"-XX:ArchiveClassesAtExit=(\S+)", options)
    if match:
        dump = Path(match.group(1))
        _remove(dump, dump.with_suffix(".log"))
