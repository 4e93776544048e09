"""The JSON the entry points print and write is strict JSON, whatever the figures."""

from __future__ import annotations

import math
from datetime import date

import numpy as np

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
