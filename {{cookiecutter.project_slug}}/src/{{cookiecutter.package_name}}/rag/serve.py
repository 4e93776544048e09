"""Entry point ``serve``: the champion QA model behind a local scoring server (blocks).

The server is the one of the tabular use case (:mod:`..serving.server`): MLflow's
pyfunc scoring server for the champion version on 127.0.0.1, every ``/invocations``
request and its answer appended to the inference table ``tables.inference_table``.
A request is ``{"dataframe_records": [{"question": "..."}, ...]}`` (or MLflow's
``dataframe_split``, ``instances`` or ``inputs`` form of the same); the answer is
``{"predictions": [...]}`` with one answer dict per question (as
``QAPipeline.answer``). A request without a non-empty ``question`` gets HTTP 400
naming the field (in the ``instances`` and ``inputs`` forms MLflow turns a number into
its text and it is answered). On Databricks deploy and rollback keep the Model Serving endpoint
on the champion (:mod:`..serving.endpoint`). Not part of run-all.
"""

from __future__ import annotations

import argparse

from .entry import context, main, parser


def serve(argv: list[str] | None = None) -> int:
    """Serve the champion on 127.0.0.1 at ``--port`` (default ``serving.port``) until Ctrl-C."""
    arguments = parser(
        "Serve the champion QA model locally and log requests in the inference table."
    )
    arguments.add_argument("--port", type=int, help="port on 127.0.0.1 (default: serving.port)")

    def body(args: argparse.Namespace) -> int:
        from ..serving.server import serve_forever  # loads MLflow and the web server

        serve_forever(context(args), args.port)
        return 0

    return main(body, arguments, argv)
