"""ONNX models run with onnxruntime, tuned for sharing two cores with decoding.

OpenCV's DNN module, which DeepFace uses for YuNet, took 2.3x the time of onnxruntime on the
same file here (benchmarks/README.md), so YuNet runs through this (SFace runs through OpenVINO,
faster still for it: embed.py).
"""

from __future__ import annotations

import os


def inference_session(model):
    """An onnxruntime session for an `onnx.ModelProto` (already adapted by the caller)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # its warnings are about graph details callers have fixed
    # Detection and embedding run at the same time (prefetch.py): half the cores each.
    options.intra_op_num_threads = max(1, (os.cpu_count() or 1) // 2)
    # Waiting threads sleep instead of spinning: decoding and the other model share the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # A memory plan is kept per input shape, and detection sees a new shape with every crop
    # around a face: with plans, memory grew with video length (10 minutes: 717 MB, not 621).
    options.enable_mem_pattern = False
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def free_dimensions(values, names: dict[int, str]) -> None:
    """Let the listed dimensions (index -> name) of these graph inputs or outputs vary."""
    for value in values:
        dims = value.type.tensor_type.shape.dim
        for index, name in names.items():
            if index < len(dims):
                dims[index].dim_param = name
