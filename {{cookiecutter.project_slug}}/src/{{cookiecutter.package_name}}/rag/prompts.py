"""The QA prompt: a text file in the package, versioned in the MLflow Prompt Registry."""

from __future__ import annotations

import re

import mlflow
from mlflow.exceptions import MlflowException

from ..registry import alias_missing
from .packaged import packaged_text

PROMPT_FILE = "conf/qa_prompt.txt"
# A placeholder in MLflow's syntax: a name in double braces, blanks allowed around it.
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# The placeholders the pipeline fills in (:func:`.generation.render_prompt`).
PLACEHOLDERS = ("context", "question")


def slot(name: str) -> str:
    """The placeholder ``name`` as a template writes it: ``name`` in double braces."""
    return "{" * 2 + name + "}" * 2


def packaged_prompt() -> str:
    """The text of ``conf/qa_prompt.txt`` in the package, unchecked (ValueError naming the
    file when it is not UTF-8 text)."""
    return packaged_text(PROMPT_FILE)


def checked_template(text: object, where: str) -> str:
    """``text`` when it is a text prompt template whose placeholders are ``context`` and
    ``question`` only, ``question`` among them.

    Raises ValueError, one line starting with ``where`` (the file, argument or registry
    version it came from), when ``text``

    - is not a string: a chat prompt (a list of messages); the pipeline renders one text;
    - has a placeholder of another name (a typo such as ``contxt``, which would reach the
      model unfilled): the message names each one;
    - lacks the ``question`` placeholder: a model built from it would answer without
      being given the question.

    A template without ``context`` passes: the evaluation gate refuses the model it makes.
    """
    if not isinstance(text, str):
        kind = type(text).__name__
        if isinstance(text, list):
            kind = "a chat prompt (a list of messages)"
        raise ValueError(f"{where}: the template must be text, not {kind}")
    names = {match.group(1) for match in PLACEHOLDER.finditer(text)}
    unknown = sorted(names - set(PLACEHOLDERS))
    if unknown:
        raise ValueError(
            f"{where}: unknown placeholder {', '.join(map(slot, unknown))}: "
            f"the template may use only {' and '.join(map(slot, PLACEHOLDERS))}"
        )
    if "question" not in names:
        raise ValueError(f"{where}: the template must contain the question placeholder")
    return text


def prompt_text() -> str:
    """The prompt template shipped in the package (:func:`packaged_prompt`).

    Placeholders in MLflow's syntax, names in double braces: ``context`` (the
    retrieved chunks) and ``question``. Raises ValueError when ``question`` is missing or
    another placeholder is used (:func:`checked_template`).
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
