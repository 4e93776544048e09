"""Settings of the streaming-inference step (the step is steps/stream_inference.py)."""
