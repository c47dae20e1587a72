"""Helpers of `tests/bench.py`: measuring one run, the tools compared, and the report."""
