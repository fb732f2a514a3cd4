"""Face embeddings with any DeepFace recognition model, fed crops we aligned ourselves.

DeepFace runs its models one face at a time through OpenCV's DNN module. SFace, the default, is
OpenCV Zoo's ONNX file, run here on a whole batch at once through OpenVINO (one thread, so
decoding and detection keep the other core). Measured on this machine (Xeon with AMX), one
core, per face: 27-32 ms in OpenCV's DNN, 17-19 ms in onnxruntime, 10 ms in OpenVINO at full
precision (embeddings within 5e-7 of DeepFace's) and 3 ms in bfloat16, which OpenVINO uses by
default on CPUs that compute it natively (`precision="auto"`). bfloat16 moves the cosine
distance between two faces by 0.001 on average (at most 0.007 over 5,151 pairs of the shared
photos, none crossing the grouping threshold); `precision="f32"` gives DeepFace's numbers.
On an AMD EPYC with AVX2 and no bfloat16, "auto" is f32: about 20 ms a face whatever the
batch, which is why the tracker embeds as few faces as it safely can (track.py).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from .weights import model_cache_dir

# Models whose ONNX weights file is run directly, batched, through OpenVINO.
BATCHED_MODELS = {"SFace": "face_recognition_sface_2021dec.onnx"}
PRECISIONS = ("auto", "f32")


class FaceEmbedder:
    def __init__(
        self, model_name: str, weights_folder: Path | None = None, precision: str = "auto"
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"embedding precision {precision!r}: use one of {PRECISIONS}")
        self.model_name = model_name
        self._compiled = self._client = None
        file_name = BATCHED_MODELS.get(model_name)
        if file_name and weights_folder and (Path(weights_folder) / file_name).is_file():
            self._compiled = _batched_model(Path(weights_folder) / file_name, precision)
            self._request_lock = threading.Lock()  # a compiled model runs one call at a time
            self.input_size_px: int = self._compiled.inputs[0].partial_shape[2].get_length()
            self.dimension: int = self._compiled.outputs[0].partial_shape[1].get_length()
        else:  # DeepFace's own client, one face at a time
            from deepface.modules import modeling

            self._client = modeling.build_model(task="facial_recognition", model_name=model_name)
            self.input_size_px = int(self._client.input_shape[0])
            self.dimension = int(self._client.output_shape)

    def embed(self, aligned_crops_bgr: list[np.ndarray]) -> np.ndarray:
        """(n, dimension) float32 L2-normalised embeddings of aligned BGR uint8 crops."""
        if not aligned_crops_bgr:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._compiled is not None:
            # RGB, channels first, 0-255: what the model was exported with (as DeepFace feeds it)
            batch = np.stack(aligned_crops_bgr)[..., ::-1].transpose(0, 3, 1, 2)
            batch = np.ascontiguousarray(batch, dtype=np.float32)
            with self._request_lock:
                vectors = self._compiled(batch)[0]
        else:
            # DeepFace models take BGR in [0, 1] at their input size (as DeepFace.represent does).
            batch = np.stack(aligned_crops_bgr).astype(np.float32) / 255.0
            vectors = self._client.forward(batch)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(aligned_crops_bgr), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def _batched_model(weights_file: Path, precision: str):
    """The ONNX file compiled by OpenVINO for CPU, any batch size, on one thread."""
    import openvino

    core = openvino.Core()
    cache = model_cache_dir()
    if cache is not None:  # the compiled model is kept: later processes load it, not compile it
        core.set_property({"CACHE_DIR": str(cache / "openvino")})
    model = core.read_model(str(weights_file))
    shape = model.inputs[0].partial_shape
    shape[0] = -1  # any batch size
    model.reshape({model.inputs[0]: shape})
    config = {
        "INFERENCE_NUM_THREADS": 1,
        # Decoding and detection share the cores: OpenVINO must not pin its thread to one.
        "ENABLE_CPU_PINNING": False,
        "PERFORMANCE_HINT": "LATENCY",
    }
    if precision == "f32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    return core.compile_model(model, "CPU", config)
