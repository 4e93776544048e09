"""The micro-batches a streaming query ran, counted from its progress events, without a cap.

``StreamingQuery.recentProgress`` holds only the last
``spark.sql.streaming.numRecentProgressUpdates`` progress reports (100 by default), so
it undercounts a run of more micro-batches than that. A :class:`BatchCounter` registered
on the session (:func:`counting_batches`) receives the progress event of every
micro-batch instead: on classic Spark from the driver's listener bus, over Spark Connect
(PySpark 4, as serverless compute) from the client's, which the server streams the
events to, so the counter lives in this process either way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

# How long to wait, once a query has terminated, for its termination event: the events
# reach the listener after ``awaitTermination`` returns (a fraction of a second locally).
END_EVENT_SECONDS = 30.0


class BatchCounter(StreamingQueryListener):
    """Collects, per query, the ids of the micro-batches that read input rows.

    Spark calls the ``on...`` methods from another thread than the query's caller.
    """

    def __init__(self):
        self._read: dict[str, set[int]] = {}  # query id -> ids of batches that read rows
        self.listening = False  # registered on a session (:func:`counting_batches`)
        self._ended: set[str] = set()
        self._changed = threading.Condition()

    def onQueryStarted(self, event) -> None:
        """Nothing to count as a query starts."""

    def onQueryProgress(self, event) -> None:
        """Keep the batch id of a progress report whose micro-batch read rows."""
        progress = event.progress
        if progress.numInputRows > 0:
            with self._changed:
                self._read.setdefault(str(progress.id), set()).add(progress.batchId)

    def onQueryIdle(self, event) -> None:
        """An idle query ran no micro-batch: nothing to count."""

    def onQueryTerminated(self, event) -> None:
        """Note that the query ended: no progress event of it follows."""
        with self._changed:
            self._ended.add(str(event.id))
            self._changed.notify_all()

    def batches(self, query: StreamingQuery, seconds: float = END_EVENT_SECONDS) -> set[int]:
        """The ids (ints) of the micro-batches of ``query``, which has terminated, that read
        input rows, a replayed batch included.

        Waits up to ``seconds`` for the query's termination event, after which no progress
        event of it comes (not at all when the counter is not :attr:`listening`). Adds the
        batches of the query's own ``recentProgress``: should the events not arrive in
        time, the count is no lower than that report's.
        """
        query_id = str(query.id)
        with self._changed:
            if self.listening:
                self._changed.wait_for(lambda: query_id in self._ended, timeout=seconds)
            read = set(self._read.get(query_id, ()))
        return read | {p.batchId for p in query.recentProgress if p.numInputRows > 0}


@contextmanager
def counting_batches(spark: SparkSession) -> Iterator[BatchCounter]:
    """A :class:`BatchCounter` listening to the queries of ``spark`` inside the block;
    removed from the session as the block ends, whether it raised or not.

    A session that refuses the listener (a runtime without Python listeners) gives a
    counter that is not listening: its count is ``recentProgress``'s, as before listeners
    were used, and the stream runs all the same.
    """
    counter = BatchCounter()
    try:
        spark.streams.addListener(counter)
        counter.listening = True
    except Exception:  # noqa: BLE001 - any refusal: count from the progress reports
        pass
    try:
        yield counter
    finally:
        if counter.listening:
            spark.streams.removeListener(counter)
