"""Face embeddings with any DeepFace recognition model, fed crops we aligned ourselves.

DeepFace runs its ONNX models one face at a time through onnxruntime. SFace, the default, is
OpenCV Zoo's model: OpenCV's own DNN module runs the same file on a whole batch of faces at once,
with the same output (within 3e-6) in about two thirds of the time, so it is used for SFace.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# Models whose weights file OpenCV's DNN module runs directly, batch included.
OPENCV_MODELS = {"SFace": "face_recognition_sface_2021dec.onnx"}


class FaceEmbedder:
    def __init__(self, model_name: str, weights_folder: Path | None = None) -> None:
        from deepface.modules import modeling

        self.model_name = model_name
        self._client = modeling.build_model(task="facial_recognition", model_name=model_name)
        self.input_size_px: int = int(self._client.input_shape[0])
        self.dimension: int = int(self._client.output_shape)
        self._net = None
        file_name = OPENCV_MODELS.get(model_name)
        if file_name and weights_folder and (Path(weights_folder) / file_name).is_file():
            self._net = cv2.dnn.readNetFromONNX(str(Path(weights_folder) / file_name))

    def embed(self, aligned_crops_bgr: list[np.ndarray]) -> np.ndarray:
        """(n, dimension) float32 L2-normalised embeddings of aligned BGR uint8 crops."""
        if not aligned_crops_bgr:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._net is not None:
            # RGB, channels first, 0-255: what the model was exported with (as DeepFace feeds it)
            size = (self.input_size_px, self.input_size_px)
            self._net.setInput(cv2.dnn.blobFromImages(aligned_crops_bgr, 1.0, size, swapRB=True))
            vectors = self._net.forward()
        else:
            # DeepFace models take BGR in [0, 1] at their input size (as DeepFace.represent does).
            batch = np.stack(aligned_crops_bgr).astype(np.float32) / 255.0
            vectors = self._client.forward(batch)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(aligned_crops_bgr), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
