"""The CPU a benchmark ran on, as /proc/cpuinfo names it: the figures depend on it (the same
model runs several times faster where the CPU computes bfloat16)."""

from __future__ import annotations

from pathlib import Path


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """The first CPU's model name ("" if unknown) and its flags (empty off Linux)."""
    path = Path("/proc/cpuinfo")
    model, flags = "", set()
    for line in path.read_text().splitlines() if path.exists() else ():
        if line.startswith("model name") and not model:
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            flags = set(line.split(":", 1)[1].split())
    return model, flags
