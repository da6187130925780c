"""Triggers (run in the triggerer)."""
