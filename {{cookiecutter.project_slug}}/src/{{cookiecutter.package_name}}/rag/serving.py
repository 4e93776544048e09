"""Answering with the champion, and recording human feedback on an answer's trace.

:func:`ask` is what a serving side calls per question: the champion QA model
answers, the trace is tagged ``channel=ask`` (evaluation traces are not) and
its id is returned, so feedback can be attached to it with :func:`record_feedback`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import mlflow
import pandas as pd
from mlflow.entities import AssessmentSource, AssessmentSourceType

CHANNEL_TAG, CHANNEL = "channel", "ask"
FEEDBACK_NAME = "user_rating"
RATINGS = ("up", "down")
FEEDBACK_SCHEMA = (
    "trace_id string, user string, rating string, comment string, recorded_at timestamp"
)


def champion_pipeline(settings):
    """The QAPipeline of the champion model version (``models:/<name>@<champion alias>``)."""
    uri = f"models:/{settings.model_name}@{settings.champion_alias}"
    return mlflow.pyfunc.load_model(uri).unwrap_python_model().pipeline


def ask(pipeline, question: str) -> dict:
    """``pipeline.answer(question)`` in a trace tagged for monitoring, plus its ``trace_id``."""

    @mlflow.trace(name="ask")
    def traced(q: str) -> dict:
        mlflow.update_current_trace(tags={CHANNEL_TAG: CHANNEL})
        return pipeline.answer(q)

    answer = traced(question)
    return {**answer, "trace_id": mlflow.get_last_active_trace_id()}


def record_feedback(ctx, trace_id: str, rating: str, user: str, comment: str = "") -> dict:
    """Record a human rating on trace ``trace_id``: ``mlflow.log_feedback`` and the feedback table.

    ``rating`` is ``up`` or ``down`` (logged as the boolean feedback
    ``user_rating``). The table keeps one row per (trace_id, user): a repeated
    rating replaces the earlier one. Raises ValueError for another rating or an
    empty trace id or user, before anything is written.
    """
    if rating not in RATINGS:
        raise ValueError(f"rating: {rating!r} must be one of {', '.join(RATINGS)}")
    if not trace_id.strip() or not user.strip():
        raise ValueError("trace_id and user: must not be empty")
    ctx.mlflow()
    mlflow.log_feedback(
        trace_id=trace_id,
        name=FEEDBACK_NAME,
        value=rating == "up",
        rationale=comment or None,
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=user),
    )
    now = pd.Timestamp(datetime.now(UTC)).tz_convert(None)
    row = pd.DataFrame(
        [
            {
                "trace_id": trace_id,
                "user": user,
                "rating": rating,
                "comment": comment,
                "recorded_at": now,
            }
        ]
    )
    name = ctx.settings.table("feedback")
    ctx.tables.upsert(ctx.spark.createDataFrame(row, FEEDBACK_SCHEMA), name, ["trace_id", "user"])
    return {"trace_id": trace_id, "rating": rating, "user": user, "table": name}
