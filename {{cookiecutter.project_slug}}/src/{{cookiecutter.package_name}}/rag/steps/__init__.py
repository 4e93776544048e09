"""Entry-point bodies of the rag steps: each reads the settings, does one job, returns a dict."""
