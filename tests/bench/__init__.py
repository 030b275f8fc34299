"""Benchmarks for the Complaints Procedure at a realistic scale (250,000 cases).

Run with `make bench` or `.venv/bin/python -m tests.bench --help`. They print figures and never
assert on timings, and pytest does not collect them (`norecursedirs` in pyproject.toml).
See docs/performance.md for what is measured and the latest figures.
"""

import warnings

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
