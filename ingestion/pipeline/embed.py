"""Face embeddings with any DeepFace recognition model, fed crops we aligned ourselves.

DeepFace runs its models one face at a time. SFace, the default, is OpenCV Zoo's ONNX file, run
here on a whole batch at once through onnxruntime, after two changes to its graph that keep
its output (within 3e-7 on the shared photos) and take milliseconds at load time:
- its weights are listed as graph inputs, which stops onnxruntime from folding them; they are
  made plain constants, and the batch size free;
- its 27 PReLU layers (per-channel slopes), which onnxruntime runs slower than the convolutions
  themselves, become max(x, slope * x) (or, where a slope exceeds 1, relu(x) - slope * relu(-x)).
Measured on this machine, one core: 19.5 ms a face, against 24 ms for the file as it is in
onnxruntime and 27-32 ms in OpenCV's DNN module, which DeepFace uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .onnx_models import free_dimensions, inference_session

# Models whose ONNX weights file is run directly, batched, with the graph changes above.
BATCHED_ONNX_MODELS = {"SFace": "face_recognition_sface_2021dec.onnx"}


class FaceEmbedder:
    def __init__(self, model_name: str, weights_folder: Path | None = None) -> None:
        from deepface.modules import modeling

        self.model_name = model_name
        self._session = self._client = None
        file_name = BATCHED_ONNX_MODELS.get(model_name)
        if file_name and weights_folder and (Path(weights_folder) / file_name).is_file():
            self._session = inference_session(_fast_graph(Path(weights_folder) / file_name))
            model_input = self._session.get_inputs()[0]  # (batch, 3, size, size)
            self._input_name = model_input.name
            self.input_size_px: int = int(model_input.shape[2])
            self.dimension: int = int(self._session.get_outputs()[0].shape[1])
        else:  # DeepFace's own client, built only then: it would load the model a second time
            self._client = modeling.build_model(task="facial_recognition", model_name=model_name)
            self.input_size_px = int(self._client.input_shape[0])
            self.dimension = int(self._client.output_shape)

    def embed(self, aligned_crops_bgr: list[np.ndarray]) -> np.ndarray:
        """(n, dimension) float32 L2-normalised embeddings of aligned BGR uint8 crops."""
        if not aligned_crops_bgr:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._session is not None:
            # RGB, channels first, 0-255: what the model was exported with (as DeepFace feeds it)
            batch = np.stack(aligned_crops_bgr)[..., ::-1].transpose(0, 3, 1, 2)
            batch = np.ascontiguousarray(batch, dtype=np.float32)
            vectors = self._session.run(None, {self._input_name: batch})[0]
        else:
            # DeepFace models take BGR in [0, 1] at their input size (as DeepFace.represent does).
            batch = np.stack(aligned_crops_bgr).astype(np.float32) / 255.0
            vectors = self._client.forward(batch)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(aligned_crops_bgr), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def _fast_graph(weights_file: Path):
    """The model with constant weights, a free batch size and no PReLU node."""
    import onnx

    model = onnx.load(str(weights_file))
    graph = model.graph
    constants = {tensor.name: tensor for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in constants]
    del graph.input[:]
    graph.input.extend(inputs)
    free_dimensions([*graph.input, *graph.output], {0: "batch"})
    nodes = []
    for node in graph.node:
        if node.op_type != "PRelu" or node.input[1] not in constants:
            nodes.append(node)
            continue
        nodes += _prelu_without_prelu(node, constants[node.input[1]])
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def _prelu_without_prelu(node, slope_tensor) -> list:
    """Nodes computing PReLU(x) = x if x > 0 else slope * x, per channel, with ops onnxruntime
    runs fast: max(x, slope * x) when every slope is at most 1 (true of 25 of SFace's 27),
    else relu(x) - slope * relu(-x). The slope tensor is reshaped (and negated) in place."""
    from onnx import helper, numpy_helper

    x, name = node.input
    y = node.output[0]
    slope = numpy_helper.to_array(slope_tensor).reshape(1, -1, 1, 1).astype(np.float32)
    if slope.max() <= 1.0:
        slope_tensor.CopyFrom(numpy_helper.from_array(slope, name))
        return [
            helper.make_node("Mul", [x, name], [f"{y}/scaled"]),
            helper.make_node("Max", [x, f"{y}/scaled"], [y]),
        ]
    slope_tensor.CopyFrom(numpy_helper.from_array(-slope, name))
    return [
        helper.make_node("Relu", [x], [f"{y}/positive"]),
        helper.make_node("Neg", [x], [f"{y}/flipped"]),
        helper.make_node("Relu", [f"{y}/flipped"], [f"{y}/negative"]),
        helper.make_node("Mul", [f"{y}/negative", name], [f"{y}/scaled"]),
        helper.make_node("Add", [f"{y}/positive", f"{y}/scaled"], [y]),
    ]
