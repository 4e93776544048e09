"""Retrieval-augmented question answering: documents, index, prompt, QA pipeline, gates, monitor."""
