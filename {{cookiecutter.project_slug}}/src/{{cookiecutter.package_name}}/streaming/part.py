"""What streaming inference adds to the shared steps (see :mod:`..parts`).

``run-all`` runs the stream-inference step after batch inference, and the stream's
predictions are a prediction source beside batch inference.
"""

RUN_ALL_STEPS = ("stream_inference",)
# stream_predictions: written by stream-inference
PREDICTION_SOURCES = {
    "streaming": ("stream_predictions", "steps.stream_inference:stream_predictions")
}
