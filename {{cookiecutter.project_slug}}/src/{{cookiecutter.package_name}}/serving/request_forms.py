"""The request forms of MLflow's scoring server (and Databricks Model Serving), read as rows.

Shared by the server, which answers a request missing a model input itself
(:func:`missing_inputs`), and by the reading of logged requests back as rows.
"""

from __future__ import annotations

import json

import pandas as pd


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
    raise ValueError(
        "request: expected a dataframe_records, dataframe_split, instances or inputs field"
    )


def missing_inputs(request: bytes, inputs: list[str]) -> list[str]:
    """The columns of ``inputs`` (the model signature's input names) that the scoring
    request body ``request`` (JSON bytes, any form :func:`request_frame` reads) does not
    send, in signature order; empty when it sends them all, and when the body is not
    JSON in one of those forms or holds no row (the scoring server answers those itself).
    A column sent in some ``dataframe_records`` rows but not others counts as sent
    (the rows without it read null, as MLflow reads them)."""
    try:
        sent = request_frame(json.loads(request))
    except (ValueError, TypeError, KeyError, AttributeError):
        return []
    return [column for column in inputs if column not in sent.columns] if len(sent) else []
