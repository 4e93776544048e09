"""Errors of the runtime: the exceptions entry points report in one line, and errors of
Spark and the JVM as one line, for messages people read.

Nothing here imports Spark or MLflow: an entry point names these exceptions without
loading them, so ``--help`` answers at once.
"""

from __future__ import annotations

import re


class SparkStartError(RuntimeError):
    """Spark could not start; the message says why in one line."""


class MissingTableError(LookupError):
    """An input table does not exist yet; the message names it and the step that writes it."""


# A Java stack trace line: a frame, ``at org.apache.spark.Foo.bar(Foo.scala:12)``,
# ``at java.base/java.lang.Thread.run(...)``, ``at com.foo@1.2/com.foo.Bar.baz(...)``,
# or the count of frames left out, ``... 25 more``.
_STACK_FRAME = re.compile(r"at [\w$.<>/@-]+\(|\.\.\. \d+ more$")


def error_line(err: BaseException, limit: int = 300) -> str:
    """``err`` as one line for a log message, at most ``limit`` characters.

    The first line of its message that names the failure: Py4J's ``An error occurred
    while calling ...`` preface and Java stack frames (``at <class>.<method>(<file>)``,
    ``... 25 more``) are skipped, so a failed Spark write reads e.g.
    ``org.apache.spark.sql.delta.DeltaIOException: [...]``; a message line that merely
    starts with the word "at" (``at least one column ...``) is kept.
    The exception's type name when the message is empty.
    """
    lines = (line.strip().removeprefix(": ").strip() for line in str(err).splitlines())
    named = [
        line
        for line in lines
        if line
        and not line.startswith("An error occurred while calling")
        and not _STACK_FRAME.match(line)
    ]
    return _cut(named[0] if named else type(err).__name__, limit)


def root_cause(err: BaseException, limit: int = 300) -> str | None:
    """The last ``Caused by:`` line of a JVM error's message (the innermost Java exception
    and its message, e.g. ``java.lang.NumberFormatException: For input string: "warm"``),
    at most ``limit`` characters (a JSON parser's cause quotes the whole record); None
    when the message has none."""
    causes = re.findall(r"^Caused by: (.+)$", str(err), flags=re.MULTILINE)
    return _cut(causes[-1].strip(), limit) if causes else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
