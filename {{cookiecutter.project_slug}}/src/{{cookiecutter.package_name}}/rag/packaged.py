"""Files shipped in the package: text files (``conf/...``) read as UTF-8, and a digest
of the package's own Python source."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

# The installed package's folder (the source tree with an editable install, site-packages
# with a wheel): what build logs as the model's code, and what source_digest covers.
PACKAGE_DIR = Path(__file__).resolve().parents[1]


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


def source_digest(root: Path = PACKAGE_DIR) -> str:
    """64 hex digits of SHA-256 over the Python source under ``root`` (default: this
    package as installed): each ``*.py`` file's path relative to ``root`` and its bytes, in
    the order of those paths. The same code gives the same digest wherever it is installed;
    an edit of any file (an upgrade of the package) gives another. Hidden files and folders
    (a name starting with ``.``: an editor's lock link ``.#generation.py``, Jupyter's
    ``.ipynb_checkpoints``) and anything not a regular file are not source and not read."""
    digest = hashlib.sha256()
    files = sorted(
        (path.relative_to(root).as_posix(), path)
        for path in root.rglob("*.py")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(root).parts)
    )
    for relative, path in files:
        data = path.read_bytes()
        digest.update(f"{relative}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()
