"""Per-environment settings, read from ``conf/config.yml`` inside the package.

The file ships in the wheel, so the same settings reach a Databricks job task.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ENV_VAR = "MLOPS_ENV"
CONFIG_VAR = "MLOPS_CONFIG"
LOCAL_ROOT_VAR = "MLOPS_LOCAL_ROOT"
RUNTIMES = ("local", "databricks")
VALIDATION_MODES = ("enabled", "dry_run", "disabled")
TABLE_KEYS = (
    "flights_bronze",
    "weather_bronze",
    "airport_features",
    "weather_features",
{%- if not cookiecutter.include_feature_store %}
    "model_input",
{%- endif %}
    "training_set",
    "predictions",
{%- if cookiecutter.include_streaming_inference %}
    "stream_predictions",
{%- endif %}
{%- if cookiecutter.include_online_serving %}
    "inference_table",
{%- endif %}
    "monitoring_metrics",
)
WINDOW_KEYS = ("train", "validation", "scoring")
ALIAS_KEYS = ("champion_alias", "challenger_alias")
DEFAULT_ALIASES = {"champion_alias": "champion", "challenger_alias": "challenger"}
# MLflow refuses these aliases: "latest", and anything that reads as a version ("v3", "V12").
_VERSION_LIKE_ALIAS = re.compile(r"v\d+", re.IGNORECASE)
{%- if cookiecutter.include_feature_store %}
FEATURE_LOOKUPS = ("spark", "databricks_feature_store")
{%- endif %}


class ConfigError(ValueError):
    """A setting is missing or breaks a rule; the message names the key."""


@dataclass(frozen=True)
class Window:
    """A half-open interval ``[start, end)`` of UTC timestamps."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one environment.

    ``tables`` maps table keys (see ``TABLE_KEYS``) to short names; use
    :meth:`table` for the full ``<catalog>.<schema>.<table>`` name.
    ``champion_alias`` and ``challenger_alias`` are the registry aliases (``registry``
    in the config); they differ and are never ``latest`` or ``v<digits>``.
{%- if cookiecutter.include_streaming_inference %}
    ``streaming`` holds the stream-inference settings (checkpoint, max_files_per_trigger).
{%- endif %}
{%- if cookiecutter.include_online_serving %}
    ``serving`` holds the local server's and the Databricks endpoint's settings.
{%- endif %}
    """

    env: str
    runtime: str
    catalog: str
    schema: str
    tables: dict[str, str]
    model_short_name: str
    experiment: str
    source: dict[str, Any]
    windows: dict[str, Window]
    features: dict[str, Any]
    training: dict[str, Any]
    validation: dict[str, Any]
    monitoring: dict[str, Any]
    spark_conf: dict[str, str]
{%- if cookiecutter.include_streaming_inference %}
    streaming: dict[str, Any]
{%- endif %}
{%- if cookiecutter.include_online_serving %}
    serving: dict[str, Any]
{%- endif %}
    local_root: Path | None
    champion_alias: str = DEFAULT_ALIASES["champion_alias"]
    challenger_alias: str = DEFAULT_ALIASES["challenger_alias"]

    def table(self, key: str) -> str:
        """Full name ``<catalog>.<schema>.<table>`` of the table configured under ``key``.

        Raises ConfigError for a key that is not under ``tables``.
        """
        if key not in self.tables:
            raise ConfigError(f"tables.{key}: no such table key (known: {', '.join(self.tables)})")
        return f"{self.catalog}.{self.schema}.{self.tables[key]}"

    @property
    def model_name(self) -> str:
        """Registered model name, ``<catalog>.<schema>.<model>`` (Unity Catalog style)."""
        return f"{self.catalog}.{self.schema}.{self.model_short_name}"


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _utc(value: Any, key: str) -> datetime:
    if isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(str(value))
        except ValueError as err:
            raise ConfigError(f"{key}: {value!r} is not an ISO date or timestamp") from err
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp


def _require(raw: dict, key: str) -> Any:
    if raw.get(key) in (None, ""):
        raise ConfigError(f"{key}: required setting is missing")
    return raw[key]


def _aliases(raw: dict) -> dict[str, str]:
    """The registry aliases under ``registry``, checked against MLflow's reserved names."""
    section = raw.get("registry") or {}
    aliases = {}
    for key in ALIAS_KEYS:
        value = section.get(key, DEFAULT_ALIASES[key])
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"registry.{key}: must be a non-empty string, got {value!r}")
        if value.lower() == "latest" or _VERSION_LIKE_ALIAS.fullmatch(value):
            raise ConfigError(
                f"registry.{key}: {value!r} is reserved by MLflow "
                "('latest' and 'v<digits>' name versions, not aliases)"
            )
        aliases[key] = value
    if aliases["champion_alias"] == aliases["challenger_alias"]:
        raise ConfigError(
            "registry.challenger_alias: must differ from registry.champion_alias "
            f"(both are {aliases['champion_alias']!r})"
        )
    return aliases


def load_raw(env: str | None = None, override_file: str | Path | None = None) -> tuple[str, dict]:
    """Read the packaged config and merge ``common``, the environment, and an override file.

    ``env`` defaults to $MLOPS_ENV, else ``local``; ``override_file`` to $MLOPS_CONFIG.
    Returns (environment name, merged mapping). Raises ConfigError for an unknown
    environment or an override file that does not exist.
    """
    text = resources.files(__package__).joinpath("conf/config.yml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    env = env or os.environ.get(ENV_VAR) or "local"
    environments = document.get("environments", {})
    if env not in environments:
        raise ConfigError(f"env: {env!r} is not configured (known: {', '.join(environments)})")
    merged = _merge(document.get("common", {}), environments[env])
    override_file = override_file or os.environ.get(CONFIG_VAR)
    if override_file:
        path = Path(override_file)
        if not path.is_file():
            raise ConfigError(f"config: override file {path} does not exist")
        merged = _merge(merged, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return env, merged


def load_settings(env: str | None = None, override_file: str | Path | None = None) -> Settings:
    """Settings of one environment, checked. See :func:`load_raw` for the arguments.

    Raises ConfigError naming the first key that is missing or breaks its rule.
    """
    env, raw = load_raw(env, override_file)
    runtime = _require(raw, "runtime")
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime: {runtime!r} must be one of {', '.join(RUNTIMES)}")
    tables = dict(_require(raw, "tables"))
    missing = [key for key in TABLE_KEYS if key not in tables]
    if missing:
        raise ConfigError(f"tables: missing keys {', '.join(missing)}")
    windows = {}
    for key in WINDOW_KEYS:
        spec = _require(_require(raw, "windows"), key)
        window = Window(
            _utc(spec.get("start"), f"windows.{key}.start"),
            _utc(spec.get("end"), f"windows.{key}.end"),
        )
        if window.end <= window.start:
            raise ConfigError(f"windows.{key}: end must be after start")
        windows[key] = window
    if windows["train"].end > windows["validation"].start:
        raise ConfigError("windows.validation: must start at or after the end of windows.train")
    mode = raw.get("validation", {}).get("mode", "enabled")
    if mode not in VALIDATION_MODES:
        raise ConfigError(f"validation.mode: {mode!r} must be one of {', '.join(VALIDATION_MODES)}")
    features = dict(_require(raw, "features"))
{%- if cookiecutter.include_feature_store %}
    lookup = features.setdefault("lookup", "spark")
    if lookup not in FEATURE_LOOKUPS:
        raise ConfigError(
            f"features.lookup: {lookup!r} must be one of {', '.join(FEATURE_LOOKUPS)}"
        )
    if lookup == "databricks_feature_store" and runtime != "databricks":
        raise ConfigError(
            "features.lookup: databricks_feature_store needs runtime databricks (use spark locally)"
        )
{%- endif %}
    local_root = None
    if runtime == "local":
        local_root = Path(
            os.environ.get(LOCAL_ROOT_VAR) or raw.get("local_root") or "local_runtime"
        )
        local_root = local_root.resolve()
    model = _require(raw, "model")
    return Settings(
        env=env,
        runtime=runtime,
        catalog=str(_require(raw, "catalog")),
        schema=str(_require(raw, "schema")),
        tables=tables,
        model_short_name=str(_require(model, "name")),
        experiment=str(_require(model, "experiment")),
        source=dict(raw.get("source") or {}),
        windows=windows,
        features=features,
        training=dict(raw.get("training") or {}),
        validation={**raw.get("validation", {}), "mode": mode},
        monitoring=dict(raw.get("monitoring") or {}),
        spark_conf={str(k): str(v) for k, v in (raw.get("spark_conf") or {}).items()},
        local_root=local_root,
{%- if cookiecutter.include_streaming_inference %}
        streaming=dict(raw.get("streaming") or {}),
{%- endif %}
{%- if cookiecutter.include_online_serving %}
        serving=dict(raw.get("serving") or {}),
{%- endif %}
        **_aliases(raw),
    )
