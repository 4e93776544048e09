"""Document sources: the example corpus and your own documents. Replace or extend here.

Every loader returns a pandas DataFrame with one row per document and the columns
``doc_id`` (str, unique, without white space or "]": answers cite it as ``[doc_id]``),
``title`` (str, one line), ``text`` (str, non-empty) and ``source`` (str: where the
document came from). The ingest step adds ``text_hash`` and the
UTC load time.

Kinds (``source.kind`` in the config):

- ``python_stdlib`` (the example): the documentation of the standard-library
  modules listed in ``source.modules``, read with ``inspect``/``pydoc`` from the
  running interpreter, so it exists offline on every machine. One document per
  module (its docstring) and one per public function or class defined in it.
- ``files``: every ``*.md``/``*.txt``/``*.rst`` file under ``source.path`` (a
  local folder or a Unity Catalog volume path such as ``/Volumes/c/s/v/docs``);
  ``doc_id`` is the path relative to that folder (so no file or folder name with a
  blank), ``title`` the first line.
- ``table``: a table named by ``source.table`` with the four columns above
  (read by the ingest step through Spark, see :func:`check_documents`). A NULL in
  any of them stops the ingest step before anything is written (it is not turned
  into the text "None").
"""

from __future__ import annotations

import importlib
import inspect
import pydoc
import re
from pathlib import Path

import pandas as pd

from .doc_ids import DOC_ID

COLUMNS = ["doc_id", "title", "text", "source"]
FILE_SUFFIXES = (".md", ".txt", ".rst")


ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _signature(obj) -> str:
    """The signature as text, without object addresses (they change from run to run)."""
    try:
        return ADDRESS.sub("", str(inspect.signature(obj)))
    except (TypeError, ValueError):
        return ""


def _class_text(cls) -> str:
    """A class's docstring followed by the docstrings of the public methods it defines."""
    parts = [inspect.getdoc(cls) or ""]
    for name, member in sorted(vars(cls).items()):
        if name.startswith("_") and name != "__init__":
            continue
        doc = inspect.getdoc(member) if callable(member) else None
        if doc:
            parts.append(f"{cls.__name__}.{name}{_signature(member)}\n{doc}")
    return "\n\n".join(p for p in parts if p)


def module_documents(module_name: str) -> list[dict]:
    """Documents of one standard-library module: its docstring and its public members.

    Public members are the names in ``__all__`` (else the names without a leading
    underscore) whose objects are functions or classes defined in that module.
    Raises ValueError naming the module when it cannot be imported.
    """
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"source.modules: {module_name!r} cannot be imported ({err})") from err
    source = f"python-stdlib:{module_name}"
    docs = []
    overview = pydoc.getdoc(module).strip()
    if overview:
        docs.append({"doc_id": module_name, "title": f"module {module_name}", "text": overview})
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in sorted(set(names)):
        obj = getattr(module, name, None)
        if not (inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.isclass(obj)):
            continue
        if getattr(obj, "__module__", None) not in (module_name, f"_{module_name}", None):
            continue
        text = _class_text(obj) if inspect.isclass(obj) else (inspect.getdoc(obj) or "")
        if not text.strip():
            continue
        qualified = f"{module_name}.{name}"
        kind = "class" if inspect.isclass(obj) else "function"
        heading = f"{qualified}{_signature(obj)}"
        docs.append(
            {"doc_id": qualified, "title": f"{kind} {qualified}", "text": f"{heading}\n\n{text}"}
        )
    return [{**d, "source": source} for d in docs]


def python_stdlib(modules: list[str]) -> pd.DataFrame:
    """The example corpus: documents of the standard-library ``modules`` (see module doc)."""
    rows = [doc for name in modules for doc in module_documents(str(name))]
    return pd.DataFrame(rows, columns=COLUMNS)


def files(path: str | Path) -> pd.DataFrame:
    """Documents from the text files under ``path`` (see module doc).

    Raises ValueError when ``path`` is not a folder, holds no such file, or a file is
    not UTF-8 text (the message names the file and the byte offset).
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"source.path: {root} is not a folder")
    rows = []
    for file in sorted(p for p in root.rglob("*") if p.suffix in FILE_SUFFIXES and p.is_file()):
        try:
            text = file.read_text(encoding="utf-8-sig").strip()  # a leading BOM is dropped
        except UnicodeDecodeError as error:
            raise ValueError(
                f"source.path: {file} is not UTF-8 text (byte {error.start}: {error.reason})"
            ) from None
        if text:
            doc_id = file.relative_to(root).as_posix()
            title = text.splitlines()[0].lstrip("# ").strip() or doc_id
            rows.append({"doc_id": doc_id, "title": title, "text": text, "source": str(file)})
    if not rows:
        raise ValueError(f"source.path: no {'/'.join(FILE_SUFFIXES)} file under {root}")
    return pd.DataFrame(rows, columns=COLUMNS)


def check_documents(frame: pd.DataFrame, source: str = "documents") -> pd.DataFrame:
    """``frame`` with the document columns as text, checked before anything is written.

    Raises ValueError, one line starting with ``source`` (where the documents came
    from, e.g. ``source.table main.docs.pages``) and naming the column and the rule:
    a missing column, a NULL in any column, an empty or duplicate ``doc_id``, a
    ``doc_id`` with white space or "]" or a ``title`` of more than one line (both named
    with the first ids: see :func:`_check_citable`), an empty ``text``, or no document
    at all.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {', '.join(missing)}")
    frame = frame[COLUMNS]
    if frame.empty:
        raise ValueError(f"{source}: the source returned no document")
    for column in COLUMNS:
        nulls = frame[column].isna()
        if nulls.any():
            ids = frame.doc_id[nulls & frame.doc_id.notna()].astype(str).head(5).tolist()
            where = f", doc_id {', '.join(ids)}" if ids else ""
            raise ValueError(
                f"{source}: column {column} must not be NULL ({int(nulls.sum())} row(s){where})"
            )
    frame = frame.astype(str)
    if (frame.doc_id.str.strip() == "").any():
        raise ValueError(f"{source}: column doc_id must not be empty")
    duplicated = frame.doc_id[frame.doc_id.duplicated()].unique()
    if len(duplicated):
        raise ValueError(
            f"{source}: column doc_id must be unique, repeated: {', '.join(duplicated[:5])}"
        )
    if (frame.text.str.strip() == "").any():
        raise ValueError(f"{source}: column text must not be empty")
    _check_citable(frame, source)
    return frame.reset_index(drop=True)


def _check_citable(frame: pd.DataFrame, source: str) -> None:
    """Raise ValueError, one line starting with ``source``, when a document of ``frame``
    could never be answered from or cited: a ``doc_id`` that is no :data:`DOC_ID` (white
    space or a "]": an answer cites ``[doc_id]`` and a context block starts with it), or a
    ``title`` of more than one line (a context block's first line; its second would be
    read as the chunk's text). The message names up to five such documents by ``doc_id``."""
    problems = (
        ("doc_id", ~frame.doc_id.str.fullmatch(DOC_ID), "white space or ']'"),
        ("title", frame.title.str.contains(r"[\r\n]"), "a line break"),
    )
    for column, found, what in problems:
        if found.any():
            ids = ", ".join(repr(i) for i in frame.doc_id[found].head(5))
            raise ValueError(
                f"{source}: column {column} must not hold {what} (answers cite a document "
                f"as [doc_id] after its context block's line '[doc_id] title'): doc_id {ids}"
            )
