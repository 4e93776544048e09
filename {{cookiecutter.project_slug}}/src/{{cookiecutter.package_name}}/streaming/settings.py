"""The types of the ``streaming`` section, checked when the settings load.

:func:`..settings_types.owned_sections` finds ``SECTION_MODEL`` here; a project
without streaming inference has neither this module nor the section.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StreamingSection(BaseModel):
    """``streaming``: checkpoint location and bronze files per micro-batch."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    checkpoint: str
    max_files_per_trigger: int = 1000


SECTION_MODEL = StreamingSection
