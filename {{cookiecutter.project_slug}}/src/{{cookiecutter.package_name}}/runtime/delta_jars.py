"""The Delta Lake jars of a local Spark start: resolved by Ivy once, then named directly.

Spark resolves ``spark.jars.packages`` with Ivy at every start, even when every jar is
already in Ivy's cache; measured on 2 cores, ``get_spark`` in a fresh process took 8.1 to
8.2 s that way and 6.7 to 6.8 s with the same jar files given as ``spark.jars``. So,
after a classic start that resolved them, the jar files Spark was given are recorded in a
file under Ivy's folder (``<spark.jars.ivy or ~/.ivy2.5.2>/resolved/<key>.txt``, ``~``
being this process's home folder), the key a hash of what the resolution depends on
(every ``spark.jars*`` setting and the Ivy settings file's text). The next local start
with the same key, classic or a local Spark Connect server, names those files in
``spark.jars`` instead of resolving, as long as each of them still exists; otherwise it
resolves again.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from .hashed_name import hashed_name

DEFAULT_IVY_HOME = Path.home() / ".ivy2.5.2"


def record_path(conf: Mapping[str, str]) -> Path:
    """Where the jars resolved for the local Spark ``conf`` are recorded.

    ``conf``: the settings a local start passes to Spark, ``spark.jars.packages`` and
    ``spark.jars.ivySettings`` (a file path) included. The name is a hash
    (:func:`.hashed_name.hashed_name`) of every ``spark.jars*`` setting and of the Ivy
    settings file's text (empty when the file cannot be read), so a change to any of them
    (another Delta version, a repository, an edited settings file) gets a new record.
    """
    jars = {k: v for k, v in sorted(conf.items()) if k.startswith("spark.jars")}
    try:
        text = Path(conf["spark.jars.ivySettings"]).read_text(encoding="utf-8")
    except (KeyError, OSError, UnicodeDecodeError):
        text = ""
    key = hashed_name([jars, text])
    ivy_home = Path(conf.get("spark.jars.ivy") or DEFAULT_IVY_HOME)
    return ivy_home / "resolved" / f"{key}.txt"


def _local_file(jar: str) -> Path | None:
    """The file of ``jar``, a path or a ``file:`` URL as Spark lists it (``file:/a%20b``),
    or None for another scheme."""
    url = urlparse(jar)
    if url.scheme not in ("", "file"):
        return None
    return Path(url2pathname(url.path))


def recorded_jars(conf: Mapping[str, str]) -> list[str] | None:
    """The jar files recorded for ``conf`` (see :func:`record_path`) as Spark listed them,
    or None when there is no record, it is empty or unreadable, or one of its files is not
    a local file that exists."""
    try:
        jars = record_path(conf).read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError):
        return None
    files = [_local_file(jar) for jar in jars]
    if not jars or not all(file is not None and file.is_file() for file in files):
        return None
    return jars


def with_recorded_jars(conf: Mapping[str, str]) -> dict[str, str]:
    """``conf`` as a local start should pass it to Spark.

    When :func:`recorded_jars` has the files of an earlier resolution, ``conf`` without
    ``spark.jars.packages`` and with ``spark.jars`` naming those files (a comma-separated
    list, which held any jar ``conf`` named itself); else ``conf`` as it is, for Ivy to
    resolve. The record's name is computed from ``conf`` as given.
    """
    jars = recorded_jars(conf)
    if jars is None:
        return dict(conf)
    given = {k: v for k, v in conf.items() if k != "spark.jars.packages"}
    return {**given, "spark.jars": ",".join(jars)}


def record_jars(conf: Mapping[str, str], jars: str) -> Path | None:
    """Record ``jars``, the comma-separated ``spark.jars`` of a session started with
    ``conf`` (Spark adds the files it resolved there), for :func:`with_recorded_jars`.

    Written to a temporary file renamed over the record, so a reader never sees half a
    list. Returns the record's path, or None when ``jars`` is empty or the record cannot
    be written (no temporary file is left then; the next start resolves again).
    """
    names = [jar for jar in jars.split(",") if jar]
    if not names:
        return None
    path = record_path(conf)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("\n".join(names) + "\n")
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        return None
    return path


def forget_jars(conf: Mapping[str, str]) -> None:
    """Remove the record of ``conf``'s jars, if any: the next start resolves them again."""
    with suppress(OSError):
        record_path(conf).unlink(missing_ok=True)
