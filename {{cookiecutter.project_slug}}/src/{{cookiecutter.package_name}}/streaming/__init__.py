"""The streaming-inference step's settings and its micro-batch count (the step is
steps/stream_inference.py)."""
