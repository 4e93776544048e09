"""Tests of the runtime package that every use case shares."""
