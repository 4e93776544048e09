"""Entry point of the streaming-inference option: ``stream-inference`` (see pyproject.toml).

``run-all`` runs the same step after batch inference (``RUN_ALL_STEPS`` in :mod:`.part`).
"""

from __future__ import annotations

from .. import entry

stream_inference = entry.step_entry("stream_inference")
