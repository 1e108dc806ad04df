"""Shared helpers for the bench scripts: percentiles and a throwaway folder."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(name: str, seconds: list[float]) -> str:
    us = [s * 1e6 for s in seconds]
    return f"{name:<28} median {statistics.median(us):8.1f} us   p99 {percentile(us, 0.99):8.1f} us"
