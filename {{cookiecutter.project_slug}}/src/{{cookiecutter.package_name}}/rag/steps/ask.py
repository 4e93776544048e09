"""ask: answer questions with the champion QA model (traced, for monitoring and feedback)."""

from __future__ import annotations

import mlflow

from ...runtime.context import Context
from ..serving import ask, champion_pipeline

# The attribute an exception raised by :func:`run` carries: the answers given before it.
ANSWERED = "answered_before_failure"


def run(ctx: Context, questions: list[str]) -> dict:
    """Answers (each with its trace_id) of the champion to ``questions``.

    Every answer's trace is stored before this returns, so feedback on it can be
    recorded at once (MLflow writes traces in the background otherwise).
    The answers are in the order of ``questions`` (an answer does not repeat its question).
    Raises ValueError, before anything is asked, when no question is given or one is
    empty (dropped, it would shift every later answer onto the question before it);
    LookupError when there is no champion. When question k raises, the error propagates
    with attribute ``ANSWERED``: {"answers": the k-1 answers given (traces stored),
    "unanswered": the questions from k on}, so they are not lost, nor asked again.
    """
    if not any(q.strip() for q in questions):
        raise ValueError("question: give at least one non-empty question")
    for number, question in enumerate(questions, start=1):
        if not question.strip():
            raise ValueError(f"question {number}: must not be empty (answers follow the order)")
    ctx.mlflow()
    pipeline = champion_pipeline(ctx.settings)
    answers = []
    try:
        for question in questions:
            answers.append(ask(pipeline, question))
    except Exception as err:
        setattr(err, ANSWERED, {"answers": answers, "unanswered": questions[len(answers) :]})
        raise
    finally:
        mlflow.flush_trace_async_logging()
    return {"answers": answers}
