"""The JSON the entry points print and write: strict JSON (RFC 8259), whatever the figures.

Python's ``json.dumps`` writes a float that is not finite as ``NaN``, ``Infinity`` or
``-Infinity``, which is not JSON: JavaScript's ``JSON.parse`` refuses the whole document,
and ``jq`` 1.6 reads ``Infinity`` as 1.7976931348623157e+308. A step's figure can be such
a float (validate's ``champion_figure`` when the champion is not comparable, for one), so
every step result and run summary goes through :func:`json_text`, which writes those as
``null``.
"""

from __future__ import annotations

import json
import math
import numbers


def finite(value):
    """``value`` with every float that is not finite (NaN, infinity; Python's or NumPy's)
    replaced by None, through dicts, lists and tuples (tuples become lists); NumPy floats
    that are finite become Python floats, NumPy integers Python ints. Other values are
    returned as they are."""
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)  # a NumPy integer too (json.dumps writes those as text otherwise)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def json_text(value) -> str:
    """``value`` (a step's result, a run summary: dicts, lists, strings, numbers, None) as
    JSON text indented by 2 spaces, a float that is not finite written as ``null``
    (:func:`finite`) and a value JSON has no type for (a date, a path) as its ``str``."""
    return json.dumps(finite(value), indent=2, default=str, allow_nan=False)
