"""The ``streaming`` section: its types and its rules, checked when the settings load.

:func:`..settings_types.owned_sections` finds ``SECTION_MODEL`` here and
:func:`..settings_types.check_parts` runs :func:`check`, so a bad value stops every
step before it writes, not only stream-inference. A project without streaming
inference has neither this module nor the section.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from pydantic import BaseModel

from ..config import ConfigError, Settings
from ..settings_types import SETTINGS_CONFIG


class StreamingSection(BaseModel):
    """``streaming``: checkpoint location and bronze files per micro-batch."""

    model_config = SETTINGS_CONFIG

    checkpoint: str
    max_files_per_trigger: int = 1000


SECTION_MODEL = StreamingSection


def checkpoint_location(settings: Settings) -> str:
    """The checkpoint of the query: ``streaming.checkpoint``, under ``local_root`` when relative.

    On Databricks it must be absolute (a Unity Catalog volume path such as
    ``/Volumes/<catalog>/<schema>/checkpoints/stream_inference``). Raises ConfigError
    naming the key when it is missing or relative on Databricks.
    """
    value = (settings.raw.get("streaming") or {}).get("checkpoint")
    if not value:
        raise ConfigError("streaming.checkpoint: required setting is missing")
    path = PurePosixPath(str(value))
    if path.is_absolute():
        return str(path)
    if settings.local_root is None:
        raise ConfigError(
            f"streaming.checkpoint: {value!r} must be an absolute (volume) path on Databricks"
        )
    return str(settings.local_root / path)


def max_files_per_trigger(settings: Settings) -> int:
    """``streaming.max_files_per_trigger`` (default 1000): bronze files per micro-batch.

    Raises ConfigError naming the key when it is not a positive integer.
    """
    value = (settings.raw.get("streaming") or {}).get("max_files_per_trigger", 1000)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(
            f"streaming.max_files_per_trigger: must be a positive integer, got {value!r}"
        )
    return value


def check(settings: Settings) -> None:
    """The rules of the ``streaming`` section of ``settings``, which stream-inference needs.

    Raises ConfigError naming the key: the section missing, or
    :func:`checkpoint_location` or :func:`max_files_per_trigger` refusing its value.
    """
    if not isinstance(settings.raw.get("streaming"), dict):
        raise ConfigError("streaming: required section is missing")
    checkpoint_location(settings)
    max_files_per_trigger(settings)
