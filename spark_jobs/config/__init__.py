"""Typed, validated configuration: topic contracts, suites and job arguments."""
