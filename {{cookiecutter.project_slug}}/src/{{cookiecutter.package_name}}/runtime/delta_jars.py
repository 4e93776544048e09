"""The Delta Lake jars of a local Spark start: resolved by Ivy once, then named directly.

Spark resolves ``spark.jars.packages`` with Ivy at every start, even when every jar is
already in Ivy's cache; measured on 2 cores, a local start took 6.5 to 7.1 s that way and
4.9 to 5.2 s with the same jar files given as ``spark.jars``. So, after a start that
resolved them, the jar files Spark was given are recorded in a file under Ivy's folder
(``<spark.jars.ivy or ~/.ivy2.5.2>/resolved/<key>.txt``), the key a hash of what the
resolution depends on (every ``spark.jars*`` setting and the Ivy settings file's text).
The next start with the same key names those files in ``spark.jars`` instead of
resolving, as long as each of them still exists; otherwise it resolves again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_IVY_HOME = Path.home() / ".ivy2.5.2"


def record_path(conf: Mapping[str, str]) -> Path:
    """Where the jars resolved for the local Spark ``conf`` are recorded.

    ``conf``: the settings a local start passes to Spark, ``spark.jars.packages`` and
    ``spark.jars.ivySettings`` (a file path) included. The name is a hash of every
    ``spark.jars*`` setting and of the Ivy settings file's text, so a change to any of
    them (another Delta version, a repository, an edited settings file) gets a new record.
    """
    jars = {k: v for k, v in sorted(conf.items()) if k.startswith("spark.jars")}
    settings = conf.get("spark.jars.ivySettings")
    text = Path(settings).read_text(encoding="utf-8") if settings else ""
    key = hashlib.sha256(json.dumps([jars, text]).encode()).hexdigest()[:24]
    ivy_home = Path(conf.get("spark.jars.ivy") or DEFAULT_IVY_HOME)
    return ivy_home / "resolved" / f"{key}.txt"


def recorded_jars(conf: Mapping[str, str]) -> list[str] | None:
    """The jar files recorded for ``conf`` (see :func:`record_path`) as Spark listed them
    (``file:`` URLs), or None when there is no record, it is empty or unreadable, or one
    of its files no longer exists."""
    try:
        jars = record_path(conf).read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError):
        return None
    if not jars or not all(Path(urlparse(jar).path).is_file() for jar in jars):
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
    list. Returns the record's path, or None when ``jars`` is empty or the folder cannot
    be written (the next start then resolves again).
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
