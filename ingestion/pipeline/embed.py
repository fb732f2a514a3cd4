"""Face embeddings with any DeepFace recognition model, fed crops we aligned ourselves."""

from __future__ import annotations

import numpy as np


class FaceEmbedder:
    def __init__(self, model_name: str) -> None:
        from deepface.modules import modeling

        self.model_name = model_name
        self._client = modeling.build_model(task="facial_recognition", model_name=model_name)
        self.input_size_px: int = int(self._client.input_shape[0])
        self.dimension: int = int(self._client.output_shape)

    def embed(self, aligned_crops_bgr: list[np.ndarray]) -> np.ndarray:
        """(n, dimension) float32 L2-normalised embeddings of aligned BGR uint8 crops."""
        if not aligned_crops_bgr:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # DeepFace models take BGR in [0, 1] at their input size (as DeepFace.represent feeds them).
        batch = np.stack(aligned_crops_bgr).astype(np.float32) / 255.0
        vectors = np.asarray(self._client.forward(batch), dtype=np.float32)
        vectors = vectors.reshape(len(aligned_crops_bgr), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
