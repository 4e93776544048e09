"""The QA prompt: a text file in the package, versioned in the MLflow Prompt Registry."""

from __future__ import annotations

import re

import mlflow
from mlflow.exceptions import MlflowException

from ..registry import alias_missing
from .packaged import packaged_text

PROMPT_FILE = "conf/qa_prompt.txt"
REQUIRED = re.compile(r"\{\{\s*question\s*\}\}")


def packaged_prompt() -> str:
    """The text of ``conf/qa_prompt.txt`` in the package, unchecked (ValueError naming the
    file when it is not UTF-8 text)."""
    return packaged_text(PROMPT_FILE)


def checked_template(text: object, where: str) -> str:
    """``text`` when it is a prompt template with the ``question`` placeholder.

    Raises ValueError, one line starting with ``where`` (the file, argument or registry
    version it came from), when ``text`` is not a string or lacks that placeholder: a
    model built from it would answer without being given the question.
    """
    if not isinstance(text, str) or not REQUIRED.search(text):
        raise ValueError(f"{where}: the template must contain the question placeholder")
    return text


def prompt_text() -> str:
    """The prompt template shipped in the package (:func:`packaged_prompt`).

    Placeholders in MLflow's syntax, names in double braces: ``context`` (the
    retrieved chunks) and ``question``. Raises ValueError when ``question`` is missing
    (:func:`checked_template`).
    """
    return checked_template(packaged_prompt(), PROMPT_FILE)


def _by_alias(name: str, alias: str):
    """``prompts:/<name>@<alias>``, or None when the prompt or the alias does not exist.

    Only a not-found answer means None (:func:`..registry.alias_missing`: MLflow's
    SQLite and file stores answer INVALID_PARAMETER_VALUE "Prompt alias <alias> not
    found.", every store RESOURCE_DOES_NOT_EXIST for a prompt that does not exist).
    Any other error (permissions, network) propagates: taken for "no version", it
    would make register-prompt register a duplicate version and build report a
    missing alias.
    """
    try:
        return mlflow.genai.load_prompt(f"prompts:/{name}@{alias}")
    except MlflowException as err:
        if alias_missing(err, alias):
            return None
        raise


def latest_prompt(name: str):
    """The newest registered version of prompt ``name``, or None when there is none.

    Registry errors other than not-found propagate (see :func:`_by_alias`).
    """
    return _by_alias(name, "latest")


def prompt_by_alias(name: str, alias: str):
    """The version of prompt ``name`` that ``alias`` points at, or None when the prompt
    or the alias does not exist; other registry errors propagate (see :func:`_by_alias`)."""
    return _by_alias(name, alias)
