"""Code scorers for ``mlflow.genai.evaluate``: no language model needed.

Each reads the pipeline's output dict (see ``QAPipeline.answer``) and the
evaluation row's expectations ``expected_facts`` (list of str) and
``expected_sources`` (list of doc ids), and returns a float in [0, 1].
LLM-judge scorers are added by :func:`judge_scorers` only when
``evaluation.judge_endpoint`` is configured.
"""

from __future__ import annotations

import math
import numbers

from mlflow.genai.scorers import Scorer, scorer

CODE_METRICS = ("retrieval_hit", "fact_recall", "cites_retrieved_source")


def _normal(text: str) -> str:
    return " ".join(str(text).lower().replace("`", "").split())


def retrieval_hit(k: int):
    """Scorer ``retrieval_hit``: 1.0 when an expected source is among the first ``k`` sources."""

    @scorer(name="retrieval_hit")
    def hit(outputs, expectations) -> float:
        wanted = set(expectations.get("expected_sources") or [])
        return float(bool(wanted & set(outputs["sources"][:k])))

    return hit


@scorer(name="fact_recall")
def fact_recall(outputs, expectations) -> float:
    """Share of the expected facts found (case- and space-insensitively) in the answer."""
    facts = expectations.get("expected_facts") or []
    answer = _normal(outputs["answer"])
    return sum(_normal(f) in answer for f in facts) / len(facts) if facts else 0.0


@scorer(name="cites_retrieved_source")
def cites_retrieved_source(outputs) -> float:
    """1.0 when the answer cites (as ``[doc_id]``) at least one retrieved source, else 0.0."""
    return float(bool(set(outputs["citations"]) & set(outputs["sources"])))


def code_scorers(k: int) -> list:
    """The three code scorers, retrieval hit counted in the first ``k`` sources."""
    return [retrieval_hit(k), fact_recall, cites_retrieved_source]


def judge_scorers(endpoint: str | None) -> list:
    """MLflow's LLM judges (correctness against the expected facts, relevance) on ``endpoint``.

    ``endpoint`` is a judge model URI such as ``databricks:/<serving endpoint>``;
    none configured gives no judge (the gates use the code scorers only).
    """
    if not endpoint:
        return []
    from mlflow.genai.scorers import Correctness, RelevanceToQuery

    return [Correctness(model=endpoint), RelevanceToQuery(model=endpoint)]


class _ScoredOrRaised(Scorer):
    """``judge``'s scores, a number that is not finite raised as ValueError (see
    :func:`scored_or_raised`), under ``judge``'s definition."""

    judge: Scorer

    def __call__(self, *, inputs=None, outputs=None, expectations=None, trace=None):
        value = self.judge.run(
            inputs=inputs, outputs=outputs, expectations=expectations, trace=trace
        )
        number = getattr(value, "value", value)
        if isinstance(number, numbers.Real) and not math.isfinite(number):
            raise ValueError(f"judge {self.judge.name} gave no score ({number})")
        return value

    def model_dump(self, **kwargs) -> dict:
        """``judge``'s serialized definition (a copy loaded from it is the judge, unchecked).
        MLflow hashes it into the scorer digest (``mlflow.assessment.scorerDigest``) on each
        assessment, which is thus the judge's own digest."""
        return self.judge.model_dump(**kwargs)


def scored_or_raised(judge: Scorer) -> Scorer:
    """``judge`` (a scorer) as a scorer of the same name that raises ValueError, naming the
    judge and the value, where ``judge`` returns a number that is not finite (NaN,
    infinity; a Python or numpy number), itself or as a Feedback's value.

    ``mlflow.genai.evaluate`` records the error for that question, as for a judge whose
    endpoint failed (the question counts as unjudged), where a NaN value would leave the
    evaluation without any per-question result (no ``result_df``), code scores included.
    Other values, and errors ``judge`` raises, pass through unchanged. The scorer's
    definition is ``judge``'s, so the scorer digest MLflow records on each assessment is
    ``judge``'s: two judges of the same name on other models or instructions differ there.
    """
    return _ScoredOrRaised(name=judge.name, judge=judge)
