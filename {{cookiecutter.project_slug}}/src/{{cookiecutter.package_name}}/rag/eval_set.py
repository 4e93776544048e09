"""The evaluation set kept in the repo: ``conf/eval_set.yml`` in the package.

Each item: ``question`` (str), ``expected_facts`` (list of short phrases the
answer should contain, verbatim from the documentation) and ``expected_sources``
(doc ids that hold the answer, e.g. ``json.dumps``).
"""

from __future__ import annotations

from importlib import resources

import yaml

EVAL_FILE = "conf/eval_set.yml"


def load_eval_set() -> list[dict]:
    """The items of the packaged evaluation set, checked.

    Raises ValueError naming the item and field that is missing or empty.
    """
    package = __package__.rsplit(".", 1)[0]
    text = resources.files(package).joinpath(EVAL_FILE).read_text(encoding="utf-8")
    items = yaml.safe_load(text) or []
    for n, item in enumerate(items):
        for field in ("question", "expected_facts", "expected_sources"):
            if not item.get(field):
                raise ValueError(f"{EVAL_FILE} item {n}: {field} is missing or empty")
    return items


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
