"""Benchmarks of the suite (`python -m bench`); figures, not pass/fail tests."""
