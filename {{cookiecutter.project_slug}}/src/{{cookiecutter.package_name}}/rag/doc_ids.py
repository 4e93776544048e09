"""What a document id may hold: the one rule that ingest, the eval set and citations share.

An answer cites a document as ``[doc_id]`` and a context block starts with the line
``[doc_id] title``, so an id holds no white space and no ``]``. This module imports
nothing heavy: the eval set's checks (read by the console scripts) use it.
"""

# A regular expression (no anchors) matching one whole doc id.
DOC_ID = r"[^\]\s]+"
