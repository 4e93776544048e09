"""Typed models of the rag settings: every key, its type, nothing unknown.

:func:`check_rag_settings` reads the merged mapping of one environment (``common``,
the environment, an override file) into :func:`rag_settings_model` before any step
runs. A missing key, a value of the wrong type or a key the models do not know is
one ConfigError line naming the environment and the key path, e.g.
``settings of environment 'local': chunking.sise: unknown key (did you mean
size?)`` (without a close key: ``unknown key (not a setting; check the spelling)``).
Values are strict: ``"800"`` is not a number, ``"yes"`` not a boolean. Sections of
optional parts (``serving``) are typed by the part's own ``settings.py``
(:func:`..settings_types.owned_sections`). The rules between keys (overlap below size,
a URL for a chat-completions generator, aliases) stay in :mod:`.settings`.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model, model_validator

from ..settings_types import SETTINGS_CONFIG, ObjectName, distinct_names, owned_sections, validate

Rate = Annotated[float, Field(ge=0, le=1)]  # a share or rate, in [0, 1]


class _Section(BaseModel):
    model_config = SETTINGS_CONFIG


class TablesSection(_Section):
    """``tables``: short names of the rag tables (``inference_table`` with online serving)."""

    documents_bronze: ObjectName
    chunks: ObjectName
    feedback: ObjectName
    monitoring_metrics: ObjectName
    inference_table: ObjectName | None = None

    @model_validator(mode="after")
    def _one_table_per_key(self) -> TablesSection:
        distinct_names(self.model_dump(exclude_none=True))
        return self


class ModelSection(_Section):
    """``model``: registered model, Prompt Registry name and MLflow experiment."""

    name: ObjectName
    prompt: ObjectName
    experiment: str = Field(min_length=1)


class RegistrySection(_Section):
    """``registry``: the champion and challenger aliases (of the model and the prompt)."""

    champion_alias: str = "champion"
    challenger_alias: str = "challenger"


class SourceSection(_Section):
    """``source``: where the documents come from (``kind`` decides which key applies)."""

    kind: Literal["python_stdlib", "files", "table"]
    modules: list[str] | None = None
    path: str | None = None
    table: str | None = None


class ChunkingSection(_Section):
    """``chunking``: chunk ``size`` and ``overlap`` in characters."""

    size: int = Field(gt=0)
    overlap: int = Field(default=0, ge=0)


class VectorSearchSection(_Section):
    """``embedding.vector_search``: the Vector Search endpoint and the index short name."""

    endpoint: str
    index: ObjectName


class EmbeddingSection(_Section):
    """``embedding``: ``hashing`` (``n_features``) or ``databricks_endpoint`` (Vector Search)."""

    kind: Literal["hashing", "databricks_endpoint"]
    n_features: int | None = Field(default=None, gt=0)
    endpoint: str | None = None
    vector_search: VectorSearchSection | None = None


class RetrievalSection(_Section):
    """``retrieval``: ``similarity`` (or the gate's floor ``random``), ``k`` chunks, ``seed``,
    ``min_score`` (below it the pipeline abstains; null: it always answers)."""

    kind: Literal["similarity", "random"]
    k: int = Field(gt=0)
    seed: int = 0
    min_score: float | None = Field(ge=0, le=1)  # required: null is said, not implied


class GeneratorSection(_Section):
    """``generator``: ``extractive`` (offline default) or a ``chat_completions`` endpoint.

    Credentials are named, never given: ``api_key_env`` (an environment variable) or
    ``secret_scope``/``secret_key`` (a Databricks secret).
    """

    kind: Literal["extractive", "chat_completions"]
    max_sentences: int = Field(default=3, gt=0)
    url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    secret_scope: str | None = None
    secret_key: str | None = None
    max_tokens: int = Field(default=400, gt=0)
    temperature: float = Field(default=0.0, ge=0)


class EvaluationSection(_Section):
    """``evaluation``: gates on the evaluation set (rates in [0, 1]) and the gate mode.

    ``fail_on_rejection``: a rejected candidate makes ``evaluate`` and ``run-all`` exit 3
    (``run-all`` stops after evaluate: deploy and monitor do not run), so a CI job fails on it.
    """

    k: int = Field(gt=0)
    min_questions: int = Field(gt=0)
    min_retrieval_hit_rate: Rate
    min_fact_recall: Rate
    min_cites_source: Rate
    max_relative_degradation: Rate
    judge_endpoint: str | None = None
    mode: Literal["enabled", "dry_run", "disabled"]
    fail_on_rejection: bool = False


class MonitoringSection(_Section):
    """``monitoring``: the window in days, the out-of-domain score and the alarm limits.

    ``out_of_domain_score``: a best retrieval score below it is out of domain; null:
    the out-of-domain rate is not computed (no scale is known for the scores, as with
    an embedding endpoint not yet calibrated). Rates and shares in [0, 1];
    ``max_latency_p95_ms`` in milliseconds.
    """

    window_days: int = Field(gt=0)
    out_of_domain_score: float | None = Field(ge=0, le=1)
    max_out_of_domain_rate: Rate
    max_negative_feedback_share: Rate
    max_latency_p95_ms: float = Field(gt=0)


class RagCoreSettings(_Section):
    """The merged rag settings of one environment, without the sections optional parts type."""

    runtime: Literal["local", "databricks"]
    catalog: ObjectName
    schema_name: ObjectName = Field(alias="schema")
    local_root: str | None = None
    tables: TablesSection
    model: ModelSection
    registry: RegistrySection = RegistrySection()
    source: SourceSection
    chunking: ChunkingSection
    embedding: EmbeddingSection
    retrieval: RetrievalSection
    generator: GeneratorSection
    evaluation: EvaluationSection
    monitoring: MonitoringSection
    spark_conf: dict[str, str] = Field(default_factory=dict)
    spark_remote: str | None = None  # a Spark Connect address (runtime/spark.py)


@cache
def rag_settings_model() -> type[RagCoreSettings]:
    """:class:`RagCoreSettings` plus an optional field per owned section (``serving``)."""
    fields = {name: (model | None, None) for name, model in owned_sections().items()}
    return create_model("RagSettingsFile", __base__=RagCoreSettings, **fields)


def check_rag_settings(raw: dict[str, Any], env: str, error: type[Exception]) -> RagCoreSettings:
    """``raw`` (the merged mapping of environment ``env``) as a :func:`rag_settings_model`.

    Raises ``error`` (the caller's ConfigError) with one line naming ``env`` and the
    key path when a key is missing, mistyped or unknown.
    """
    return validate(rag_settings_model(), raw, env, error)


class _MonitoringOnly(_Section):
    monitoring: MonitoringSection


def check_monitoring(limits: dict[str, Any], env: str, error: type[Exception]) -> MonitoringSection:
    """``limits`` (``monitoring`` of environment ``env``) as a :class:`MonitoringSection`.

    For a caller holding the section alone (the monitor step checks its limits
    before it reads or writes). Raises ``error`` naming ``env`` and ``monitoring.<key>``.
    """
    return validate(_MonitoringOnly, {"monitoring": limits}, env, error).monitoring
