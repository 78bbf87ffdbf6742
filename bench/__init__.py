"""Benchmarks run by ``make bench`` (``python -m bench.run [NAME ...]``); never asserted in tests."""
