"""The types of the ``serving`` section, checked when the settings load.

:func:`..settings_types.owned_sections` finds ``SECTION_MODEL`` here; a project
without online serving has neither this module nor the section.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class ServingSection(BaseModel):
    """``serving``: the local scoring server and the Databricks serving endpoint."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    port: int
    log_flush_rows: int
    log_flush_seconds: float
    endpoint_name: str
    workload_size: Literal["Small", "Medium", "Large"]
    scale_to_zero: bool
    query_group: str


SECTION_MODEL = ServingSection
