"""YuNet (OpenCV Zoo's face detector, 2023mar) run with onnxruntime at any frame size.

The same model file and the same decoding as OpenCV's FaceDetectorYN, which DeepFace wraps:
the frame is padded to multiples of 32 at the bottom and right and fed as BGR 0-255; every
cell of the three feature maps (strides 8, 16, 32) predicts one face: a score (the geometric
mean of its class and objectness outputs), a box and five landmarks relative to the cell; then
non-maximum suppression. Only the runtime differs: 10 ms for a 640x640 frame on one core here,
against 23 ms through OpenCV's DNN module (benchmarks/README.md).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np

from .weights import model_cache_dir

WEIGHTS_FILE = "face_detection_yunet_2023mar.onnx"
STRIDES = (8, 16, 32)
NMS_IOU = 0.3  # FaceDetectorYN's default, as DeepFace uses it
TOP_K = 5000


class YuNet:
    def __init__(self, weights_file: Path) -> None:
        self._session = _inference_session(_any_size_model(weights_file))
        self._input_name = self._session.get_inputs()[0].name
        self._output_names = [output.name for output in self._session.get_outputs()]

    def detect(self, image_bgr: np.ndarray, min_score: float) -> np.ndarray:
        """(n, 15) rows as FaceDetectorYN gives them: x, y, w, h, five (x, y) landmarks (the
        subject's right eye first, i.e. image left), score; best first."""
        height, width = image_bgr.shape[:2]
        padded_h, padded_w = -(-height // 32) * 32, -(-width // 32) * 32
        blob = np.zeros((1, 3, padded_h, padded_w), dtype=np.float32)
        blob[0, :, :height, :width] = image_bgr.transpose(2, 0, 1)
        results = self._session.run(None, {self._input_name: blob})
        outputs = dict(zip(self._output_names, results, strict=True))
        faces = np.concatenate(
            [self._decode(outputs, stride, padded_w, min_score) for stride in STRIDES]
        )
        if not len(faces):
            return faces
        keep = cv2.dnn.NMSBoxes(
            faces[:, :4].tolist(), faces[:, 14].tolist(), min_score, NMS_IOU, top_k=TOP_K
        )
        return faces[np.asarray(keep, dtype=int).reshape(-1)]

    @staticmethod
    def _decode(outputs: dict, stride: int, padded_w: int, min_score: float) -> np.ndarray:
        """The rows of one feature map's cells that score at least `min_score`."""
        cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0.0, 1.0)
        obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0.0, 1.0)
        score = np.sqrt(cls * obj)
        kept = np.flatnonzero(score >= min_score)
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[kept]
        kps = outputs[f"kps_{stride}"].reshape(-1, 5, 2)[kept]
        cell_y, cell_x = np.divmod(kept, padded_w // stride)
        cell = np.stack([cell_x, cell_y], axis=1).astype(np.float32)
        centre = (cell + bbox[:, :2]) * stride
        size = np.exp(bbox[:, 2:]) * stride
        landmarks = (cell[:, None, :] + kps) * stride
        return np.concatenate(
            [centre - size / 2, size, landmarks.reshape(-1, 10), score[kept, None]], axis=1
        ).astype(np.float32)


def _any_size_model(weights_file: Path) -> bytes:
    """The model with its input size freed, made once with the onnx package and kept in a
    private cache folder: importing onnx alone took 0.7-2.4 s of every process's start-up."""
    original = weights_file.read_bytes()
    folder = model_cache_dir()
    key = hashlib.sha256(original).hexdigest()[:16]
    cached = folder / f"yunet-{key}-any-size.onnx" if folder is not None else None
    if cached is not None and cached.is_file():
        return cached.read_bytes()
    import onnx

    model = onnx.load_from_string(original)
    _free_dimensions(model.graph.input, {2: "height", 3: "width"})
    _free_dimensions(model.graph.output, {1: "cells"})
    adapted = model.SerializeToString()
    if cached is not None:
        partial = cached.with_suffix(f".{os.getpid()}.part")
        try:
            partial.write_bytes(adapted)
            os.replace(partial, cached)  # whole or absent, even with two processes at once
        except OSError:
            partial.unlink(missing_ok=True)
    return adapted


def _inference_session(model: bytes):
    """An onnxruntime session for the adapted model, tuned to share two cores."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # its warnings are about the graph details fixed above
    # Detection runs beside decoding and embedding (prefetch.py): half the cores.
    options.intra_op_num_threads = max(1, (os.cpu_count() or 1) // 2)
    # Waiting threads sleep instead of spinning: decoding and the other model share the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # A memory plan is kept per input shape, and detection sees a new shape with every crop
    # around a face: with plans, memory grew with video length (10 minutes: 717 MB, not 621).
    options.enable_mem_pattern = False
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _free_dimensions(values, names: dict[int, str]) -> None:
    """Let the listed dimensions (index -> name) of these graph inputs or outputs vary."""
    for value in values:
        dims = value.type.tensor_type.shape.dim
        for index, name in names.items():
            if index < len(dims):
                dims[index].dim_param = name
