"""The benchmarks' stand-in for an AVX2-only CPU (benchmarks/avx2_only.c): a process it is
preloaded into, and that process's children, see no AVX-512 and no VNNI, and still run (NumPy
and OpenVINO choose their kernels from what they see). Only where the kernel can fault CPUID
and a C compiler is there."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CPU_INFO = REPO / "benchmarks" / "cpu_info.py"
SEEN = """
import subprocess, sys
from numpy._core._multiarray_umath import __cpu_features__ as features
import openvino
capabilities = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
print(features["AVX2"], features["AVX512F"], features["AVX512VNNI"], "BF16" in capabilities)
child = [sys.executable, "-c", "from numpy._core._multiarray_umath import __cpu_features__ as f;"
         "print(f['AVX512F'])"]
print(subprocess.run(child, capture_output=True, text=True, check=True).stdout.strip())
"""


def benchmarks_cpu_info():
    """benchmarks/cpu_info.py as a module (the benchmarks folder is no package)."""
    spec = importlib.util.spec_from_file_location("cpu_info", CPU_INFO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not Path("/proc/cpuinfo").exists() or shutil.which("cc") is None,
    reason="needs Linux and a C compiler",
)
def test_a_preloaded_process_and_its_children_see_no_avx512():
    cpu_info = benchmarks_cpu_info()
    _, flags = cpu_info.cpu_model_and_flags()
    if "cpuid_fault" not in flags or "avx2" not in flags:
        pytest.skip("this CPU or kernel cannot fault CPUID, or has no AVX2")
    library = str(cpu_info.avx2_only_library())
    # (Python's fault handler, if asked for, would take SIGSEGV from the library: not here.)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    environment["LD_PRELOAD"] = library
    seen = subprocess.run(
        [sys.executable, "-c", SEEN], capture_output=True, text=True, check=True, env=environment
    ).stdout.split()
    assert seen == ["True", "False", "False", "False", "False"]
    described = subprocess.run(
        [sys.executable, str(CPU_INFO)], capture_output=True, text=True, check=True, env=environment
    ).stdout
    assert "avx2 only" in described and "avx512f" not in described
