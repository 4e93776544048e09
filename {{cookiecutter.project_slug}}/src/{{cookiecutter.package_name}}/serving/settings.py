"""The ``serving`` section: its types and its rules, checked when the settings load.

:func:`..settings_types.owned_sections` finds ``SECTION_MODEL`` here and
:func:`..settings_types.check_parts` runs :func:`check`. A project without online
serving has neither this module nor the section.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from ..settings_file import ConfigError
from ..settings_types import SETTINGS_CONFIG


class ServingSection(BaseModel):
    """``serving``: the local scoring server and the Databricks serving endpoint."""

    model_config = SETTINGS_CONFIG

    port: int
    log_flush_rows: int
    log_flush_seconds: float
    endpoint_name: str
    workload_size: Literal["Small", "Medium", "Large"]
    scale_to_zero: bool
    query_group: str


SECTION_MODEL = ServingSection


def checked_port(value: Any) -> int:
    """``value`` when it is a port for ``serve``: an integer from 0 to 65535 (0: a free one).

    Raises ConfigError naming ``serving.port`` otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(f"serving.port: must be an integer from 0 to 65535, got {value!r}")
    return value


def positive(settings: Any, key: str) -> int | float:
    """``serving.<key>`` of ``settings`` (either use case's settings: read from ``raw``)
    when it is a number above 0. Raises ConfigError naming the key otherwise."""
    value = (settings.raw.get("serving") or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"serving.{key}: must be a positive number, got {value!r}")
    return value


def check(settings: Any) -> None:
    """The rules of the ``serving`` section of ``settings`` (either use case's), which serve
    and the endpoint need: the section itself, the port (:func:`checked_port`; ``serve
    --port`` may pick another, but the setting must be one) and the inference log's batch
    size and interval (:func:`positive`). Raises ConfigError naming the key."""
    section = settings.raw.get("serving")
    if not isinstance(section, dict):
        raise ConfigError("serving: required section is missing")
    checked_port(section.get("port"))
    for key in ("log_flush_rows", "log_flush_seconds"):
        positive(settings, key)
