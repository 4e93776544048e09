"""Drift statistics for monitoring."""
