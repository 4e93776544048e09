"""The evaluation set kept in the repo: ``conf/eval_set.yml`` in the package.

Each item: ``question`` (str), ``expected_facts`` (list of short phrases the
answer should contain, verbatim from the documentation) and ``expected_sources``
(doc ids that hold the answer, e.g. ``json.dumps``).
"""

from __future__ import annotations

from typing import Annotated

import yaml
from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, ValidationError

from ..settings_file import read_yaml, yaml_problem
from ..settings_types import SETTINGS_CONFIG, first_error, unknown_key
from .doc_ids import DOC_ID
from .packaged import packaged_text

EVAL_FILE = "conf/eval_set.yml"

# A question or fact: text with something besides blanks (surrounding blanks dropped).
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# An expected source: a doc id as documents have them (:data:`.doc_ids.DOC_ID`, no white
# space or "]"), surrounding blanks dropped; another could never be indexed, so its
# question would be left out of every evaluation.
Source = Annotated[str, StringConstraints(strip_whitespace=True, pattern=rf"^{DOC_ID}$")]


class EvalItem(BaseModel):
    """One question of the evaluation set and what a good answer holds."""

    model_config = SETTINGS_CONFIG

    question: Text
    expected_facts: list[Text] = Field(min_length=1)
    expected_sources: list[Source] = Field(min_length=1)


_ITEMS = TypeAdapter(Annotated[list[EvalItem], Field(min_length=1)])


def _where(loc: tuple) -> str:
    """``item 3`` or ``item 3: expected_facts entry 2`` (items and entries counted from 1)."""
    if not loc:
        return "the file"
    parts = [str(p) if isinstance(p, str) else f"entry {p + 1}" for p in loc[1:]]
    return f"item {loc[0] + 1}" + (f": {' '.join(parts)}" if parts else "")


def _problem(err: ValidationError) -> str:
    """One line for the problem of ``err`` to report (:func:`..settings_types.first_error`):
    where (:func:`_where`), the rule, and the value found when it is a scalar."""
    first = first_error(err.errors())
    loc, value, kind = first["loc"], first.get("input"), first["type"]
    message, hint = first["msg"], ""
    if kind == "model_type":  # an item that is not a mapping
        message = f"must be a mapping with the keys {', '.join(EvalItem.model_fields)}"
    elif kind == "string_pattern_mismatch":  # the only pattern: Source
        message = "a doc id holds no white space or ']' (answers cite it as [doc_id])"
    elif kind == "extra_forbidden":
        message = unknown_key(str(loc[-1]), EvalItem.model_fields, "not a field")
    elif kind == "string_type" and isinstance(value, bool | int | float):
        hint = ": YAML reads it as a number or true/false, quote it to keep it as text"
    scalar = not isinstance(value, dict | list) and kind not in ("missing", "extra_forbidden")
    found = f" (got {value!r})" if scalar else ""
    return f"{EVAL_FILE} {_where(loc)}: {message}{found}{hint}"


def _refuse_keys_that_are_not_text(data: object) -> None:
    """Raise ValueError naming the item and key when an item has a key YAML did not read
    as text (``1:``, ``yes:``, ``~:``): pydantic's location would show it as a position."""
    if not isinstance(data, list):
        return
    for number, item in enumerate(data, start=1):
        keys = item if isinstance(item, dict) else {}
        for key in keys:
            if not isinstance(key, str):
                raise ValueError(
                    f"{EVAL_FILE} item {number}: key {key!r} must be text: YAML reads it as "
                    f"{type(key).__name__}, quote it"
                )


def parse_eval_set(text: str) -> list[dict]:
    """The items of an evaluation set file's ``text`` (YAML), checked.

    Out: a list of at least one dict with ``question`` (str), ``expected_facts`` and
    ``expected_sources`` (lists of str, at least one each), blanks around each text
    dropped. Raises ValueError with one line naming the item (counted from 1), the field
    and the rule (e.g. ``conf/eval_set.yml item 4: expected_facts: Input should be a
    valid list (got 'JSON formatted str')``) when the file is not a list of such items: a
    fact given as one string would be read as its letters, and a source given as one
    string would leave the question out of every evaluation. A key YAML does not read as
    text (``1:``, ``yes:``, ``~:``) is named as a key. Text that is not YAML is named, with
    its line when YAML gives one, as is a date that does not exist (``2013-02-30``). A
    question asked twice is refused naming both items, and an expected source that no
    document could have as its doc id (white space or "]": :data:`.doc_ids.DOC_ID`), whose
    question would be left out of every evaluation.
    """
    try:
        data = read_yaml(text, yaml_1_2_floats=False)  # 1e5 stays text, as it was
        _refuse_keys_that_are_not_text(data)
        items = _ITEMS.validate_python(data)
    except ValidationError as err:
        raise ValueError(_problem(err)) from None
    except yaml.YAMLError as err:
        raise ValueError(f"{EVAL_FILE}: not YAML: {yaml_problem(err)}") from None
    first: dict[str, int] = {}
    for number, item in enumerate(items, start=1):
        if item.question in first:
            raise ValueError(
                f"{EVAL_FILE} item {number}: question: repeats item {first[item.question]} "
                "(evaluation keys each answer by its question: give each question once)"
            )
        first[item.question] = number
    return [item.model_dump() for item in items]


def eval_set_text() -> str:
    """The text of the packaged evaluation set (``conf/eval_set.yml`` in the package).

    Raises ValueError naming the file when it is not UTF-8 text."""
    return packaged_text(EVAL_FILE)


def load_eval_set() -> list[dict]:
    """The items of the packaged evaluation set (:func:`eval_set_text`), checked by
    :func:`parse_eval_set` (ValueError naming the item and field when one is bad)."""
    return parse_eval_set(eval_set_text())


def as_eval_data(items: list[dict], documents: set[str]) -> list[dict]:
    """``mlflow.genai.evaluate`` rows for the items whose expected sources are all in ``documents``.

    A question about a document the corpus no longer holds (or a slice of it
    leaves out) cannot be answered from it, so it is left out, not failed.
    """
    return [
        {
            "inputs": {"question": item["question"]},
            "expectations": {
                "expected_facts": list(item["expected_facts"]),
                "expected_sources": list(item["expected_sources"]),
            },
        }
        for item in items
        if set(item["expected_sources"]) <= documents
    ]
