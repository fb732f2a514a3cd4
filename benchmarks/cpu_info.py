"""The CPU a benchmark ran on, as /proc/cpuinfo names it: the figures depend on it (the same
model runs several times faster where the CPU computes bfloat16).

It can also stand in for an AVX2-only CPU: `LD_PRELOAD` set to the library
`avx2_only_library()` builds (avx2_only.c) hides AVX-512 and VNNI from every CPUID of the
process and its children, so the libraries that choose their kernels at run time take the
path a CPU without them takes:

    LD_PRELOAD=$(.venv/bin/python benchmarks/cpu_info.py --avx2-only-library) \\
        .venv/bin/python benchmarks/catalog_scale.py ...

The flags reported then leave out what the library hides, and `instruction_set` says so.
The library handles SIGSEGV: a process that installs its own handler afterwards (Python's fault
handler, `PYTHONFAULTHANDLER` or `-X faulthandler`) crashes at its next CPUID."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

AVX2_ONLY_SOURCE = Path(__file__).with_name("avx2_only.c")
AVX2_ONLY_NAME = "avx2_only.so"


def hides_avx512() -> bool:
    """Whether this process runs with the AVX2-only library preloaded."""
    return any(Path(p).name == AVX2_ONLY_NAME for p in os.environ.get("LD_PRELOAD", "").split())


def hidden_flag(flag: str) -> bool:
    """A /proc/cpuinfo flag the AVX2-only library hides (AVX-512 of any kind, AVX-VNNI)."""
    return flag.startswith("avx512") or flag == "avx_vnni"


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """The first CPU's model name ("" if unknown) and its flags as this process sees them
    (empty off Linux)."""
    path = Path("/proc/cpuinfo")
    model, flags = "", set()
    for line in path.read_text().splitlines() if path.exists() else ():
        if line.startswith("model name") and not model:
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            flags = set(line.split(":", 1)[1].split())
    if hides_avx512():
        flags = {flag for flag in flags if not hidden_flag(flag)}
    return model, flags


def instruction_set() -> str:
    """ "avx2 only (AVX-512 and VNNI hidden)" under the library, else "as the CPU has"."""
    return "avx2 only (AVX-512 and VNNI hidden)" if hides_avx512() else "as the CPU has"


def avx2_only_library() -> Path:
    """Build avx2_only.c (once per source change) and return the library's path."""
    _, flags = cpu_model_and_flags()
    if "cpuid_fault" not in flags:
        raise SystemExit("this kernel or CPU cannot fault CPUID (no cpuid_fault flag)")
    stamp = int(AVX2_ONLY_SOURCE.stat().st_mtime)
    library = Path(tempfile.gettempdir()) / f"faaaaaces-{stamp}" / AVX2_ONLY_NAME
    if not library.exists():
        library.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(AVX2_ONLY_SOURCE)],
            check=True,
        )
    return library


if __name__ == "__main__":
    if sys.argv[1:] == ["--avx2-only-library"]:
        print(avx2_only_library())
    else:
        model, flags = cpu_model_and_flags()
        print(f"{model}: {instruction_set()}; flags: {' '.join(sorted(flags))}")
