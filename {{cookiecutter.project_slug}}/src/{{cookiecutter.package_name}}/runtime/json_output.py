"""The JSON the entry points print and write: strict JSON (RFC 8259), whatever the figures.

Python's ``json.dumps`` writes a float that is not finite as ``NaN``, ``Infinity`` or
``-Infinity``, which is not JSON: JavaScript's ``JSON.parse`` refuses the whole document,
and ``jq`` 1.6 reads ``Infinity`` as 1.7976931348623157e+308. A step's figure can be such
a float (validate's ``champion_figure`` when the champion is not comparable, for one), so
every step result, run summary and the rag evaluation file (``evaluation.json``) go
through :func:`json_text`, which writes those as ``null``. The training data profile
(``data_profile.json``) does not: a bin end there can be infinite (a training column
holding infinity), and it is read back as such. A dict key that is such a
float is refused: JSON keys are text, and the NaN keys of one dict, all different in
Python, would all be written ``NaN``.
"""

from __future__ import annotations

import json
import math
import numbers


def finite(value):
    """``value`` with every float that is not finite (NaN, infinity; Python's or NumPy's)
    replaced by None, through dicts, lists and tuples (tuples become lists); NumPy floats
    that are finite become Python floats, NumPy integers Python ints. Other values are
    returned as they are. Raises ValueError, naming where, when a dict key is a float that
    is not finite (JSON has no key for it), e.g. ``JSON output: metrics: key nan is not a
    finite number``."""
    return _finite(value, "")


def _finite(value, where: str):
    """:func:`finite` of ``value``, found at ``where`` (keys and list indexes from the top,
    e.g. ``metrics.rmse`` or ``history[1]``; empty at the top)."""
    if isinstance(value, dict):
        return {_key(key, where): _finite(item, _at(where, key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item, f"{where}[{n}]") for n, item in enumerate(value)]
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)  # a NumPy integer too (json.dumps writes those as text otherwise)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def _at(where: str, key) -> str:
    return f"{where}.{key}" if where else str(key)


def _key(key, where: str):
    """``key`` of the dict at ``where``; ValueError when it is a float that is not finite."""
    real = isinstance(key, numbers.Real) and not isinstance(key, numbers.Integral)
    if real and not math.isfinite(key):
        place = where or "the top dict"
        raise ValueError(f"JSON output: {place}: key {float(key)} is not a finite number")
    return key


def json_text(value) -> str:
    """``value`` (a step's result, a run summary: dicts, lists, strings, numbers, None) as
    JSON text indented by 2 spaces, a float that is not finite written as ``null``
    (:func:`finite`) and a value JSON has no type for (a date, a path) as its ``str``.
    Raises ValueError naming the key when a dict key is a float that is not finite."""
    return json.dumps(finite(value), indent=2, default=str, allow_nan=False)
