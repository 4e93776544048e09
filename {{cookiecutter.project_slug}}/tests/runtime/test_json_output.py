"""The JSON the entry points print and write is strict JSON, whatever the figures."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.runtime.json_output import json_text

from ..json_checks import strict_json


def test_figures_that_are_not_finite_are_written_as_null_at_any_depth():
    result = {
        "champion_figure": math.nan,
        "relative_degradation": np.float64("nan"),
        "gates": {"upper": math.inf, "lower": np.float32("-inf")},
        "history": [1.5, math.nan, (np.float32(0.25), -math.inf)],
        "questions": 17,
        "rows_scored": np.int64(858),
        "rejected": None,
        "as_of": date(2013, 1, 10),
    }

    parsed = strict_json(json_text(result))

    assert parsed == {
        "champion_figure": None,
        "relative_degradation": None,
        "gates": {"upper": None, "lower": None},
        "history": [1.5, None, [0.25, None]],
        "questions": 17,
        "rows_scored": 858,
        "rejected": None,
        "as_of": "2013-01-10",
    }
    assert json_text({"passed": True, "rows": 3}) == '{\n  "passed": true,\n  "rows": 3\n}'


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"metrics": {math.nan: 0.5}}, "metrics: key nan"),
        ({"runs": [{"a": 1}, {np.float64("-inf"): 2}]}, r"runs\[1\]: key -inf"),
        ({math.inf: 1}, "the top dict: key inf"),
    ],
)
def test_a_key_that_is_not_a_finite_number_is_refused_saying_where(value, where):
    """JSON keys are text and NaN keys, all different in Python, would all be ``NaN``: the
    key is refused in one line naming the dict it is in, instead of ``json.dumps``'s
    "Out of range float values are not JSON compliant"."""
    with pytest.raises(ValueError, match=f"^JSON output: {where} is not a finite number$"):
        json_text(value)
    assert strict_json(json_text({1.5: "a finite float key", 2: "an int"})) == {
        "1.5": "a finite float key",
        "2": "an int",
    }
