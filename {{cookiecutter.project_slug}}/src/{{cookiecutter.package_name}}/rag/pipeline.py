"""The QA pipeline: retrieve chunks, render the prompt, generate, with MLflow tracing.

:func:`pipeline_from_config` builds it from the ``model_config`` the build step
logs with the model (no credentials in it) and the index snapshot artifact.
Every :meth:`QAPipeline.answer` is one trace with a retrieval span
(``RETRIEVER``) and a generation span (``LLM``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import mlflow
import pandas as pd
from mlflow.entities import SpanType
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, Array, ColSpec, Map, Schema

from .doc_ids import DOC_ID
from .generation import make_generator, prompt_blocks, render_prompt
from .retrieval import HashingRetriever, RandomRetriever, VectorSearchRetriever

# A citation: ``[doc_id]`` after a space or at the start (``heap[0]`` is no citation).
CITATION = re.compile(rf"(?<!\S)\[({DOC_ID})\]")
SCORE_TAG = "best_retrieval_score"
# The answer when the best retrieved chunk scores below ``retrieval.min_score``.
ABSTENTION = "No document of the index is close enough to this question to answer it."

# The QA model's signature: a ``question`` string per row in, one :meth:`QAPipeline.answer`
# out. Unity Catalog registers a model only when its signature has inputs and outputs;
# served requests are checked against the inputs.
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "question")]),
    outputs=Schema(
        [
            ColSpec("string", "answer"),
            ColSpec(Array("string"), "sources"),
            ColSpec(Array("string"), "chunk_ids"),
            ColSpec(Array("double"), "scores"),
            ColSpec("double", "best_score"),
            ColSpec(Array("string"), "citations"),
            ColSpec(Map(AnyType()), "metadata"),
        ]
    ),
)


def best_score(chunks: list[dict]) -> float:
    """The highest ``score`` of the retrieved ``chunks`` (0.0 without chunks). The first
    chunk's for a ranked retriever; the random floor's chunks come in no order."""
    return max((c["score"] for c in chunks), default=0.0)


@dataclass
class QAPipeline:
    """Retriever + prompt template + generator; ``info`` goes into every answer's metadata.

    ``min_score``: when the best retrieved chunk scores below it, the answer is
    :data:`ABSTENTION` and the generator is not called; None: always generate.
    """

    retriever: object
    template: str
    generator: object
    k: int
    info: dict
    min_score: float | None = None

    def retrieve(self, question: str) -> list[dict]:
        """The top ``k`` chunks for ``question`` (a RETRIEVER span with the documents)."""
        with mlflow.start_span(name="retrieve", span_type=SpanType.RETRIEVER) as span:
            span.set_inputs({"query": question})
            chunks = self.retriever.retrieve(question, self.k)
            span.set_outputs(
                [
                    {
                        "page_content": c["text"],
                        "metadata": {"doc_uri": c["doc_id"], "chunk_id": c["chunk_id"]},
                        "id": c["chunk_id"],
                    }
                    for c in chunks
                ]
            )
            best = best_score(chunks)
            span.set_attribute("best_score", best)
        # On the trace too, so monitoring can read it without loading spans.
        mlflow.update_current_trace(tags={SCORE_TAG: f"{best:.6f}"})
        return chunks

    def generate(
        self, prompt: str, question: str, blocks: list[tuple[str, str]]
    ) -> tuple[str, dict]:
        """The generator's (answer, metadata) for the rendered ``prompt`` holding the context
        ``blocks`` ((doc_id, text) pairs, :func:`.generation.prompt_blocks`), an LLM span."""
        with mlflow.start_span(name="generate", span_type=SpanType.LLM) as span:
            span.set_inputs({"prompt": prompt})
            answer, metadata = self.generator.generate(prompt, question, blocks)
            span.set_outputs({"answer": answer})
            span.set_attributes(metadata)
        return answer, metadata

    @mlflow.trace(name="qa_pipeline", span_type=SpanType.CHAIN)
    def answer(self, question: str) -> dict:
        """Answer ``question``.

        Returns answer (str), sources (doc ids of the retrieved chunks, best first,
        unique), chunk_ids, scores (cosine, per chunk), best_score (0.0 without
        chunks), citations (doc ids cited as ``[doc_id]`` in the answer after a space
        or at a line start: :data:`CITATION`) and metadata (generator kind, whether a
        language model answered, prompt and index versions, retriever kind). Below
        ``min_score`` the answer is :data:`ABSTENTION`, with no citation, the retrieved
        chunks still listed, and metadata ``abstained: True``, ``min_score``,
        ``generator: "none"`` and ``language_model: False`` in place of the generator's.
        """
        chunks = self.retrieve(question)
        best = best_score(chunks)
        if self.min_score is not None and best < self.min_score:
            answer = ABSTENTION
            metadata = {
                "abstained": True,
                "min_score": self.min_score,
                "generator": "none",
                "language_model": False,
            }
        else:
            prompt = render_prompt(self.template, question, chunks)
            blocks = prompt_blocks(self.template, chunks)
            answer, metadata = self.generate(prompt, question, blocks)
        sources = list(dict.fromkeys(c["doc_id"] for c in chunks))
        return {
            "answer": answer,
            "sources": sources,
            "chunk_ids": [c["chunk_id"] for c in chunks],
            "scores": [round(c["score"], 6) for c in chunks],
            "best_score": best,
            "citations": list(dict.fromkeys(CITATION.findall(answer))),
            "metadata": {**self.info, **metadata},
        }


def make_retriever(config: dict, chunks: pd.DataFrame | None, workspace=None):
    """The retriever of ``config["retrieval"]["kind"]`` over ``chunks``, or Vector Search.

    With ``config["vector_search_index"]`` set, the index is queried through
    ``workspace`` (a databricks-sdk WorkspaceClient, created when None).
    """
    if config.get("vector_search_index"):
        if workspace is None:
            from databricks.sdk import WorkspaceClient

            workspace = WorkspaceClient()
        return VectorSearchRetriever(workspace, config["vector_search_index"])
    n_features = int(config["n_features"])
    if config["retrieval"]["kind"] == "random":
        return RandomRetriever(chunks, n_features, seed=int(config["retrieval"].get("seed", 0)))
    return HashingRetriever(chunks, n_features)


def pipeline_from_config(config: dict, index_path: str | None, workspace=None) -> QAPipeline:
    """The pipeline described by a logged model's ``config`` and its index snapshot (parquet)."""
    chunks = pd.read_parquet(index_path) if index_path else None
    info = {
        "prompt_name": config["prompt_name"],
        "prompt_version": str(config["prompt_version"]),
        "index_version": config["index_version"],
        "retriever": config["retrieval"]["kind"],
    }
    min_score = config["retrieval"].get("min_score")  # None in models logged before it
    return QAPipeline(
        retriever=make_retriever(config, chunks, workspace),
        template=config["prompt_template"],
        generator=make_generator(config["generator"], config["runtime"]),
        k=int(config["retrieval"]["k"]),
        info=info,
        min_score=None if min_score is None else float(min_score),
    )
