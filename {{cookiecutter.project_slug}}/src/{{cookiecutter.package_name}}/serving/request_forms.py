"""The request forms of MLflow's scoring server (and Databricks Model Serving), read as rows.

Shared by the server, which answers a request missing a model input or sending no row
itself (:func:`missing_from`, :func:`empty_form`), and by the reading of logged requests
back as rows.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

# The request body fields MLflow's scoring server reads rows from, one per request.
FORMS = ("dataframe_records", "dataframe_split", "instances", "inputs")


def request_frame(body: dict) -> pd.DataFrame:
    """The rows of a scoring request, in any of the forms MLflow's scoring server answers:
    ``dataframe_records`` (a list of row dicts), ``dataframe_split`` (``columns`` and
    ``data``), ``instances`` or ``inputs`` (a list of row dicts, a dict of column lists,
    or one row as a dict of values).

    Out: one row per scored input row, the request's columns as sent.
    Raises ValueError naming the expected fields for any other body.
    """
    if "dataframe_records" in body:
        return pd.DataFrame(body["dataframe_records"])
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        return pd.DataFrame(split["data"], columns=split["columns"])
    for field in ("instances", "inputs"):
        value = body.get(field)
        if isinstance(value, dict) and not any(isinstance(v, list) for v in value.values()):
            return pd.DataFrame([value])  # one row
        if isinstance(value, list | dict):
            return pd.DataFrame(value)
    raise ValueError(f"request: expected a {', '.join(FORMS[:-1])} or {FORMS[-1]} field")


def single_form(body) -> str | None:
    """The one of :data:`FORMS` the parsed JSON request ``body`` holds; None when it is
    not an object, or holds none or several of them."""
    if not isinstance(body, dict) or sum(form in body for form in FORMS) != 1:
        return None
    return next(form for form in FORMS if form in body)


def sent_columns(body) -> set[str] | None:
    """The column names the parsed JSON request ``body`` sends, without building its rows.

    Row dicts (``dataframe_records``, ``instances``, ``inputs``) send the union of their
    keys; ``dataframe_split`` its ``columns``; a dict of columns (``instances``,
    ``inputs``) its keys. None when they cannot be told: not exactly one of the
    :data:`FORMS`, no row, or rows without names (a list of scalars, which MLflow reads
    as the one input of a one-input model, or ``dataframe_split`` without ``columns``).
    """
    form = single_form(body)
    if form is None:
        return None
    value = body[form]
    if form == "dataframe_split":
        columns = value.get("columns") if isinstance(value, dict) else None
        return {str(c) for c in columns} if isinstance(columns, list) and columns else None
    if form != "dataframe_records" and isinstance(value, dict):
        return set(value) or None
    if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        return set().union(*value)
    return None


def json_body(request: bytes, content_type: str) -> Any:
    """The parsed JSON body of a scoring request (any JSON value), or None when the server
    should read it itself: ``content_type`` (the Content-Type header) not
    ``application/json`` in UTF-8, or a body that is not JSON."""
    mime, _, parameters = content_type.partition(";")
    charset = parameters.strip().lower().removeprefix("charset=").strip() or "utf-8"
    if mime.strip().lower() != "application/json" or charset not in ("utf-8", "utf8"):
        return None
    try:
        return json.loads(request)
    except ValueError:  # not JSON (UnicodeDecodeError is a ValueError)
        return None


def empty_form(body) -> str | None:
    """The form (one of :data:`FORMS`) of the parsed JSON request ``body`` (from
    :func:`json_body`) when it sends no row, else None.

    No row: ``dataframe_records``, ``instances`` or ``inputs`` an empty list, or
    ``dataframe_split`` whose ``data`` is an empty list. None as well when the body holds
    not exactly one form (:func:`single_form`).
    """
    form = single_form(body)
    if form is None:
        return None
    value = body[form]
    rows = value.get("data") if form == "dataframe_split" and isinstance(value, dict) else value
    return form if rows == [] else None


def missing_from(body, inputs: list[str]) -> list[str]:
    """The columns of ``inputs`` (the model signature's input names) that the parsed JSON
    request ``body`` (from :func:`json_body`) does not send (:func:`sent_columns`), in
    signature order.

    Empty when its columns cannot be told (None, not JSON the server reads itself; two
    forms at once; unnamed rows): the scoring server answers those. A column sent in
    some ``dataframe_records`` rows but not others counts as sent (the rows without it
    read null, as MLflow reads them).
    """
    sent = sent_columns(body)
    return [] if sent is None else [column for column in inputs if column not in sent]
