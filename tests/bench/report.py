"""Percentiles, result rows and the printed tables."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path


def percentile(samples: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (the same as numpy's default)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timing:
    """One measured request kind: wall times in seconds, or why it could not be measured."""

    name: str
    samples: list[float] = field(default_factory=list)
    note: str = ""

    def row(self) -> str:
        if not self.samples:
            return f"| {self.name} | – | – | – | – | {self.note or 'not available'} |"
        ms = [s * 1000 for s in self.samples]
        return (
            f"| {self.name} | {len(ms)} | {percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} "
            f"| {percentile(ms, 99):.1f} | {self.note} |"
        )

    def as_dict(self) -> dict[str, object]:
        ms = [s * 1000 for s in self.samples]
        return {
            "name": self.name,
            "n": len(ms),
            "median_ms": round(percentile(ms, 50), 2) if ms else None,
            "p95_ms": round(percentile(ms, 95), 2) if ms else None,
            "p99_ms": round(percentile(ms, 99), 2) if ms else None,
            "note": self.note,
        }


TIMING_HEADER = "| request | n | median ms | p95 ms | p99 ms | note |\n|---|--:|--:|--:|--:|---|"


@dataclass
class LoadResult:
    """One concurrency run against the real server."""

    name: str
    seconds: float
    ok: int
    errors: int
    latencies: list[float]
    server_cpu: float
    error_kinds: dict[str, int] = field(default_factory=dict)
    unit: str = "requests"
    requests: int = 0

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        """Completed per second of server CPU: fairer when the load generator was the limit."""
        busy = self.seconds * self.server_cpu / 100
        return self.ok / busy if busy else 0.0

    def row(self) -> str:
        ms = [s * 1000 for s in self.latencies]
        errors = str(self.errors)
        if self.error_kinds:
            errors += " (" + ", ".join(f"{k}: {v}" for k, v in self.error_kinds.items()) + ")"
        requests_per_second = self.requests / self.seconds if self.seconds else 0.0
        return (
            f"| {self.name} | {self.seconds:.0f} | {self.ok} {self.unit} | {self.per_second:.1f} "
            f"| {requests_per_second:.1f} | {percentile(ms, 50):.1f} | {percentile(ms, 99):.1f} "
            f"| {errors} | {self.server_cpu:.0f}% |"
        )

    def as_dict(self) -> dict[str, object]:
        ms = [s * 1000 for s in self.latencies]
        return {
            "name": self.name,
            "seconds": round(self.seconds, 1),
            "ok": self.ok,
            "unit": self.unit,
            "per_second": round(self.per_second, 1),
            "requests": self.requests,
            "requests_per_second": round(self.requests / self.seconds, 1) if self.seconds else 0,
            "median_ms": round(percentile(ms, 50), 1) if ms else None,
            "p99_ms": round(percentile(ms, 99), 1) if ms else None,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "server_cpu_percent": round(self.server_cpu),
            "per_server_cpu_second": round(self.per_cpu_second, 1),
        }


LOAD_HEADER = (
    "| run | seconds | completed | completed/s | requests/s | median ms | p99 ms | errors "
    "| server CPU |\n|---|--:|--:|--:|--:|--:|--:|---|--:|"
)


def machine() -> dict[str, str]:
    """The facts a reader needs to compare figures: CPUs, model, memory, load, versions."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": model or platform.processor(),
        "memory": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"
