"""Settings of the rag use case, read from the same ``conf/config.yml`` as every step.

The file is merged by :func:`..config.load_raw` (``common``, the environment, an
override file); this module checks the rag keys and returns :class:`RagSettings`.
The runtime (Spark, tables, MLflow) reads the same attribute names as for the
tabular use case: ``runtime``, ``local_root``, ``spark_conf``, ``experiment``,
``model_short_name``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import LOCAL_ROOT_VAR, RUNTIMES, VALIDATION_MODES, ConfigError, _aliases, load_raw

TABLE_KEYS = ("documents_bronze", "chunks", "feedback", "monitoring_metrics")
SOURCE_KINDS = ("python_stdlib", "files", "table")
EMBEDDING_KINDS = ("hashing", "databricks_endpoint")
RETRIEVER_KINDS = ("similarity", "random")
GENERATOR_KINDS = ("extractive", "chat_completions")
RATES = (
    "min_retrieval_hit_rate",
    "min_fact_recall",
    "min_cites_source",
    "max_relative_degradation",
)


@dataclass(frozen=True)
class RagSettings:
    """Resolved settings of one environment for the rag use case.

    ``tables`` maps the keys of ``TABLE_KEYS`` to short names (see :meth:`table`).
    ``chunking``: size and overlap in characters. ``embedding``: kind (``hashing``
    locally, ``databricks_endpoint`` with ``endpoint`` and ``vector_search``
    settings on Databricks) and ``n_features``. ``retrieval``: kind and ``k``.
    ``generator``: kind (``extractive`` or ``chat_completions``) and endpoint
    settings. ``evaluation``: gates and mode. ``monitoring``: thresholds. ``raw`` is
    the whole merged mapping, for an optional part of the project that reads its own
    keys (online serving reads ``serving``).
    """

    env: str
    runtime: str
    catalog: str
    schema: str
    tables: dict[str, str]
    model_short_name: str
    prompt_short_name: str
    experiment: str
    source: dict[str, Any]
    chunking: dict[str, int]
    embedding: dict[str, Any]
    retrieval: dict[str, Any]
    generator: dict[str, Any]
    evaluation: dict[str, Any]
    monitoring: dict[str, Any]
    spark_conf: dict[str, str]
    local_root: Path | None
    champion_alias: str
    challenger_alias: str
    raw: dict[str, Any] = field(default_factory=dict)

    def table(self, key: str) -> str:
        """Full name ``<catalog>.<schema>.<table>`` of table ``key``; ConfigError if unknown."""
        if key not in self.tables:
            raise ConfigError(f"tables.{key}: no such table key (known: {', '.join(self.tables)})")
        return f"{self.catalog}.{self.schema}.{self.tables[key]}"

    @property
    def model_name(self) -> str:
        """Registered model name of the QA pipeline, ``<catalog>.<schema>.<model>``."""
        return f"{self.catalog}.{self.schema}.{self.model_short_name}"

    @property
    def prompt_name(self) -> str:
        """Prompt Registry name of the QA prompt, ``<catalog>.<schema>.<prompt>``."""
        return f"{self.catalog}.{self.schema}.{self.prompt_short_name}"


def _section(raw: dict, key: str) -> dict:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: required mapping is missing")
    return dict(value)


def _choice(section: dict, name: str, key: str, allowed: tuple[str, ...]) -> str:
    value = section.get(key)
    if value not in allowed:
        raise ConfigError(f"{name}.{key}: {value!r} must be one of {', '.join(allowed)}")
    return value


def _positive_int(section: dict, name: str, key: str) -> int:
    value = section.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{name}.{key}: {value!r} must be a positive integer")
    return value


def _chunking(raw: dict) -> dict[str, int]:
    section = _section(raw, "chunking")
    size = _positive_int(section, "chunking", "size")
    overlap = section.get("overlap", 0)
    if not isinstance(overlap, int) or not 0 <= overlap < size:
        raise ConfigError(f"chunking.overlap: {overlap!r} must be an integer in [0, size={size})")
    return {"size": size, "overlap": overlap}


def _source(raw: dict) -> dict:
    section = _section(raw, "source")
    kind = _choice(section, "source", "kind", SOURCE_KINDS)
    if kind == "python_stdlib" and not section.get("modules"):
        raise ConfigError("source.modules: list the standard-library modules to read")
    if kind == "files" and not section.get("path"):
        raise ConfigError("source.path: a folder or volume path is required for kind files")
    if kind == "table" and not section.get("table"):
        raise ConfigError("source.table: a table name is required for kind table")
    return section


def _gates(raw: dict) -> dict:
    section = _section(raw, "evaluation")
    _choice(section, "evaluation", "mode", VALIDATION_MODES)
    _positive_int(section, "evaluation", "k")
    for key in RATES:
        value = section.get(key)
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ConfigError(f"evaluation.{key}: {value!r} must be a number in [0, 1]")
    return section


def load_rag_settings(
    env: str | None = None, override_file: str | Path | None = None
) -> RagSettings:
    """Settings of one environment, checked (see :func:`..config.load_raw` for the arguments).

    Raises ConfigError naming the first key that is missing or breaks its rule,
    before any step reads or writes anything.
    """
    env, raw = load_raw(env, override_file)
    runtime = raw.get("runtime")
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime: {runtime!r} must be one of {', '.join(RUNTIMES)}")
    tables = _section(raw, "tables")
    missing = [key for key in TABLE_KEYS if key not in tables]
    if missing:
        raise ConfigError(f"tables: missing keys {', '.join(missing)}")
    embedding = _section(raw, "embedding")
    kind = _choice(embedding, "embedding", "kind", EMBEDDING_KINDS)
    if kind == "hashing":
        _positive_int(embedding, "embedding", "n_features")
    elif runtime != "databricks":
        raise ConfigError("embedding.kind: databricks_endpoint needs runtime databricks")
    retrieval = _section(raw, "retrieval")
    _choice(retrieval, "retrieval", "kind", RETRIEVER_KINDS)
    _positive_int(retrieval, "retrieval", "k")
    generator = _section(raw, "generator")
    if "api_key" in generator:
        raise ConfigError(
            "generator.api_key: credentials never go in the config; name an environment "
            "variable in generator.api_key_env or a Databricks secret in secret_scope/secret_key"
        )
    if _choice(generator, "generator", "kind", GENERATOR_KINDS) == "chat_completions":
        for key in ("url", "model"):
            if not generator.get(key):
                raise ConfigError(f"generator.{key}: required for kind chat_completions")
    model = _section(raw, "model")
    for key in ("name", "prompt", "experiment"):
        if not model.get(key):
            raise ConfigError(f"model.{key}: required setting is missing")
    local_root = None
    if runtime == "local":
        root = os.environ.get(LOCAL_ROOT_VAR) or raw.get("local_root") or "local_runtime"
        local_root = Path(root).resolve()
    for key in ("catalog", "schema"):
        if not raw.get(key):
            raise ConfigError(f"{key}: required setting is missing")
    return RagSettings(
        env=env,
        runtime=runtime,
        catalog=str(raw["catalog"]),
        schema=str(raw["schema"]),
        tables=tables,
        model_short_name=str(model["name"]),
        prompt_short_name=str(model["prompt"]),
        experiment=str(model["experiment"]),
        source=_source(raw),
        chunking=_chunking(raw),
        embedding=embedding,
        retrieval=retrieval,
        generator=generator,
        evaluation=_gates(raw),
        monitoring=dict(raw.get("monitoring") or {}),
        spark_conf={str(k): str(v) for k, v in (raw.get("spark_conf") or {}).items()},
        local_root=local_root,
        **_aliases(raw),
        raw=raw,
    )
