"""Answering with the champion, and recording human feedback on an answer's trace.

:func:`ask` is what a serving side calls per question: the champion QA model
answers, the trace is tagged ``channel=ask`` (evaluation traces are not) and
its id is returned, so feedback can be attached to it with :func:`record_feedback`
(an MLflow assessment, copied into the feedback table with its ``assessment_id``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import mlflow
import pandas as pd
from mlflow.entities import AssessmentSource, AssessmentSourceType, Feedback, TraceState

from ..registry import model_uri, version_by_alias
from ..runtime.tracking import client

CHANNEL_TAG, CHANNEL = "channel", "ask"
FEEDBACK_NAME = "user_rating"
RATINGS = ("up", "down")
FEEDBACK_SCHEMA = (
    "trace_id string, user string, rating string, comment string, assessment_id string, "
    "recorded_at timestamp"
)


def champion_pipeline(settings):
    """The QAPipeline of the model version the champion alias names.

    Raises LookupError when the model has no champion alias (nothing deployed yet).
    """
    name, alias = settings.model_name, settings.champion_alias
    champion = version_by_alias(client(), name, alias)
    if champion is None:
        raise LookupError(f"model {name} has no '{alias}' alias: run run-all (or deploy) first")
    return (
        mlflow.pyfunc.load_model(model_uri(name, champion.version)).unwrap_python_model().pipeline
    )


def ask(pipeline, question: str) -> dict:
    """``pipeline.answer(question)`` in a trace tagged for monitoring, plus its ``trace_id``."""

    @mlflow.trace(name="ask")
    def traced(q: str) -> dict:
        mlflow.update_current_trace(tags={CHANNEL_TAG: CHANNEL})
        return pipeline.answer(q)

    answer = traced(question)
    return {**answer, "trace_id": mlflow.get_last_active_trace_id()}


def current_rating(trace_id: str, user: str) -> Feedback | None:
    """The valid (not overridden) ``user_rating`` feedback of ``user`` on trace ``trace_id``.

    None when ``user`` has not rated it. Raises LookupError when the trace does not exist,
    ValueError when it is no answer of :func:`ask` (not tagged ``channel=ask``, as an
    evaluation trace, or not OK, as the trace of a question that raised): monitoring
    counts only those answers, so a rating of anything else would be counted nowhere.
    """
    trace = mlflow.get_trace(trace_id, silent=True)  # the one-line error below says it
    if trace is None:
        raise LookupError(f"trace_id: no trace {trace_id!r} (use the trace_id printed by ask)")
    if trace.info.tags.get(CHANNEL_TAG) != CHANNEL or trace.info.state != TraceState.OK:
        raise ValueError(
            f"trace_id: trace {trace_id!r} is no answer of ask (an evaluation trace, or a "
            "question that raised): only the answers ask printed are rated"
        )
    for assessment in trace.info.assessments:
        if (
            isinstance(assessment, Feedback)
            and assessment.name == FEEDBACK_NAME
            and assessment.source.source_id == user
            and assessment.valid is not False
        ):
            return assessment
    return None


def _log_rating(trace_id: str, user: str, up: bool, rationale: str | None) -> tuple[str, bool]:
    """(assessment_id, logged): the user's rating on the trace, logged unless already there.

    The same value and comment again reuses the assessment (logged False); another
    overrides the user's earlier one (``mlflow.override_feedback``); a first is logged.
    """
    current = current_rating(trace_id, user)
    if current is not None and current.value == up and (current.rationale or None) == rationale:
        return current.assessment_id, False
    source = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=user)
    if current is not None:
        new = mlflow.override_feedback(
            trace_id=trace_id,
            assessment_id=current.assessment_id,
            value=up,
            rationale=rationale,
            source=source,
        )
    else:
        new = mlflow.log_feedback(
            trace_id=trace_id, name=FEEDBACK_NAME, value=up, rationale=rationale, source=source
        )
    return new.assessment_id, True


def record_feedback(ctx, trace_id: str, rating: str, user: str, comment: str = "") -> dict:
    """Record a human rating on trace ``trace_id``: ``mlflow.log_feedback`` and the feedback table.

    ``rating`` is ``up`` or ``down`` (logged as the boolean feedback
    ``user_rating``; a user's new rating overrides their earlier one, which MLflow
    keeps marked invalid). The table keeps one row per (trace_id, user), with the
    ``assessment_id`` of the MLflow feedback it copies: a new rating replaces the
    earlier row. Safe to retry: when the same user's same rating and comment is
    already on the trace (a run whose table write failed after ``log_feedback``),
    that assessment is reused, not logged again, and the table gets its one row.
    ``user`` is stripped of surrounding blanks (``"alice "`` is ``alice``: one row and
    one rating). Raises ValueError for another rating, an empty trace id or user
    (blanks only) or a trace that is no answer of :func:`ask`, and LookupError for an
    unknown trace, before anything is written.
    Returns trace_id, rating, user, assessment_id, logged (False when reused), table.
    """
    if rating not in RATINGS:
        raise ValueError(f"rating: {rating!r} must be one of {', '.join(RATINGS)}")
    user = user.strip()
    for field, value in (("trace_id", trace_id), ("user", user)):
        if not value.strip():
            raise ValueError(f"{field}: must not be empty")
    name = ctx.settings.table("feedback")
    ctx.mlflow()
    assessment_id, logged = _log_rating(trace_id, user, rating == "up", comment or None)
    now = pd.Timestamp(datetime.now(UTC)).tz_convert(None)
    row = pd.DataFrame(
        [
            {
                "trace_id": trace_id,
                "user": user,
                "rating": rating,
                "comment": comment,
                "assessment_id": assessment_id,
                "recorded_at": now,
            }
        ]
    )
    ctx.tables.upsert(ctx.spark.createDataFrame(row, FEEDBACK_SCHEMA), name, ["trace_id", "user"])
    return {
        "trace_id": trace_id,
        "rating": rating,
        "user": user,
        "assessment_id": assessment_id,
        "logged": logged,
        "table": name,
    }
