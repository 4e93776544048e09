"""ask: answer questions with the champion QA model (traced, for monitoring and feedback)."""

from __future__ import annotations

import mlflow

from ...runtime.context import Context
from ..serving import ask, champion_pipeline


def run(ctx: Context, questions: list[str]) -> dict:
    """Answers (each with its trace_id) of the champion to ``questions``.

    Every answer's trace is stored before this returns, so feedback on it can be
    recorded at once (MLflow writes traces in the background otherwise).
    Raises ValueError when no question is given; LookupError when there is no champion.
    """
    questions = [q for q in questions if q.strip()]
    if not questions:
        raise ValueError("question: give at least one non-empty question")
    ctx.mlflow()
    pipeline = champion_pipeline(ctx.settings)
    answers = [ask(pipeline, q) for q in questions]
    mlflow.flush_trace_async_logging()
    return {"answers": answers}
