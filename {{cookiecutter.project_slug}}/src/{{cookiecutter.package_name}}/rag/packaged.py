"""Text files shipped in the package (``conf/...``): read as UTF-8, named when they are not."""

from __future__ import annotations

from importlib import resources


def packaged_text(relative: str) -> str:
    """The text of the file ``relative`` (e.g. ``conf/eval_set.yml``) in the package.

    Raises ValueError naming the file and the byte offset when it is not UTF-8 text.
    """
    package = __package__.rsplit(".", 1)[0]
    data = resources.files(package).joinpath(relative).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{relative}: not UTF-8 text (byte {error.start}: {error.reason})"
        ) from None
