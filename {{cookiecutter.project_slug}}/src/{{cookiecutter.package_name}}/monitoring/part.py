"""What monitoring adds to the shared steps (see :mod:`..parts`).

The monitor step writes its figures to the metrics table (``tables.monitoring_metrics``).
"""

TABLE_KEYS = ("monitoring_metrics",)
