"""The ``serving`` section: its types and its rules, checked when the settings load.

:func:`..settings_types.owned_sections` finds ``SECTION_MODEL`` here and
:func:`..settings_types.check_parts` runs :func:`check`. A project without online
serving has neither this module nor the section.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import BaseModel

from ..settings_file import ConfigError
from ..settings_types import SETTINGS_CONFIG

WorkloadSize = Literal["Small", "Medium", "Large"]
WORKLOAD_SIZES = get_args(WorkloadSize)
# A Databricks serving endpoint's name: letters, digits, '-' and '_', 1 to 63 of them.
MAX_ENDPOINT_NAME = 63
_ENDPOINT_NAME = re.compile(r"[A-Za-z0-9_-]+")
# Databricks names the AI Gateway inference table of an endpoint ``<prefix>_payload``.
PAYLOAD_SUFFIX = "_payload"


class ServingSection(BaseModel):
    """``serving``: the local scoring server and the Databricks serving endpoint."""

    model_config = SETTINGS_CONFIG

    port: int
    log_flush_rows: int
    log_flush_seconds: float
    endpoint_name: str
    workload_size: WorkloadSize
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


def endpoint_name(value: Any) -> str:
    """``value`` when it can name a serving endpoint (1-63 letters, digits, '-' or '_').

    Raises ConfigError naming ``serving.endpoint_name`` otherwise.
    """
    long = isinstance(value, str) and len(value) > MAX_ENDPOINT_NAME
    if not isinstance(value, str) or not _ENDPOINT_NAME.fullmatch(value) or long:
        raise ConfigError(
            f"serving.endpoint_name: {value!r} must be 1-{MAX_ENDPOINT_NAME} letters, digits, "
            f"'-' or '_'{f' ({len(value)} characters)' if long else ''}"
        )
    return value


def query_group(value: Any) -> str:
    """``value`` without surrounding blanks when it is a group name (a string with more than
    blanks), which gets CAN_QUERY on the endpoint. Raises ConfigError naming
    ``serving.query_group`` otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"serving.query_group: must be a group name, got {value!r}")
    return value.strip()


def payload_prefix(table: Any) -> str:
    """The prefix Databricks is given for the inference table ``table``: ``table`` without
    its :data:`PAYLOAD_SUFFIX`. Raises ConfigError naming ``tables.inference_table`` when
    ``table`` is None or does not end with the suffix after at least one character."""
    if table is None:
        raise ConfigError("tables.inference_table: required setting is missing")
    if not isinstance(table, str) or not table.endswith(PAYLOAD_SUFFIX) or table == PAYLOAD_SUFFIX:
        raise ConfigError(
            f"tables.inference_table: {table!r} must end with {PAYLOAD_SUFFIX} "
            "(Databricks names the payload table <prefix>_payload)"
        )
    return table.removesuffix(PAYLOAD_SUFFIX)


def check(settings: Any) -> None:
    """The rules of the ``serving`` section of ``settings`` (either use case's), which serve
    and the endpoint need: the section itself, the port (:func:`checked_port`; ``serve
    --port`` may pick another, but the setting must be one), the inference log's batch
    size and interval (:func:`positive`), and what the Databricks endpoint is made of
    (:func:`endpoint_name`, :func:`query_group`, :func:`payload_prefix`), checked in every
    environment, as deploy syncs the endpoint only after it has moved the champion alias.
    Raises ConfigError naming the key."""
    section = settings.raw.get("serving")
    if not isinstance(section, dict):
        raise ConfigError("serving: required section is missing")
    checked_port(section.get("port"))
    for key in ("log_flush_rows", "log_flush_seconds"):
        positive(settings, key)
    endpoint_name(section.get("endpoint_name"))
    query_group(section.get("query_group"))
    payload_prefix(settings.tables.get("inference_table"))
