"""Checks on the JSON the entry points print and write."""

from __future__ import annotations

import json


def strict_json(text: str):
    """``text`` parsed as RFC 8259 JSON: ``NaN``, ``Infinity`` and ``-Infinity``, which
    Python's json module reads and writes but JavaScript's ``JSON.parse`` refuses, raise
    ValueError naming the constant."""

    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)
