"""An int8 SFace made with NNCF's post-training quantization, against the f32 model we ship.

    pip install --target /tmp/nncf_env nncf   # not a dependency of the project
    PYTHONPATH=/tmp/nncf_env .venv/bin/python benchmarks/sface_int8.py [DATASET_DIR]

Calibrated on aligned faces as the pipeline makes them (YuNet, 5-point alignment) from the
sampled frames of the shared videos; judged on the aligned faces of the shared photos of people
(other pictures than the calibration): milliseconds a face on one thread, how far the cosine
distances between every two photos move, how many pairs cross the grouping threshold, and the
verification rate at 1 % false accepts. Writes benchmarks/results/sface_int8.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faaaaaces.settings")


def aligned_faces_of_videos(engine, videos: Path) -> list[np.ndarray]:
    from ingestion.pipeline.align import align_face
    from ingestion.pipeline.frames import open_video

    faces = []
    for path in sorted(p for p in videos.iterdir() if p.suffix in {".mp4", ".avi"}):
        with open_video(path) as video:
            for frame in video.sample(1.0):
                for detection in engine.detector.detect(frame.image_bgr):
                    faces.append(align_face(frame.image_bgr, detection, 112))
    return faces


def aligned_faces_of_photos(engine, people: Path) -> tuple[list[np.ndarray], list[str]]:
    import cv2

    from ingestion.pipeline.align import align_face

    faces, names = [], []
    for person in sorted(p for p in people.iterdir() if p.is_dir()):
        for photo in sorted(person.iterdir()):
            image = cv2.imread(str(photo))
            found = engine.detector.detect(image) if image is not None else []
            if found:
                faces.append(align_face(image, max(found, key=lambda d: d.size_px), 112))
                names.append(person.name)
    return faces, names


def model_input(faces: list[np.ndarray]) -> np.ndarray:
    """As embed.py feeds SFace: RGB, channels first, 0-255 floats."""
    return np.ascontiguousarray(np.stack(faces)[..., ::-1].transpose(0, 3, 1, 2), np.float32)


def embed(compiled, faces: list[np.ndarray]) -> np.ndarray:
    vectors = np.concatenate([compiled(model_input(faces[i : i + 16]))[0] for i in
                              range(0, len(faces), 16)])  # fmt: skip
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def ms_per_face(compiled, faces: list[np.ndarray], batch: int) -> float:
    batch_input = model_input(faces[:batch])
    compiled(batch_input)
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < 3.0:
        compiled(batch_input)
        count += batch
    return 1000 * (time.perf_counter() - started) / count


def tar_at_far(distances: np.ndarray, same: np.ndarray, far: float = 0.01) -> float:
    threshold = np.quantile(distances[~same], far)
    return float((distances[same] <= threshold).mean())


def main() -> None:
    import django

    django.setup()
    import nncf
    import openvino

    from catalog.engine import get_face_engine
    from ingestion.pipeline.embed import BATCHED_MODELS
    from ingestion.pipeline.thresholds import grouping_distance
    from ingestion.pipeline.weights import weights_dir

    dataset = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data"
    engine = get_face_engine()
    calibration = aligned_faces_of_videos(engine, dataset / "videos")
    photos, names = aligned_faces_of_photos(engine, dataset / "people")
    core = openvino.Core()
    model = core.read_model(str(weights_dir(engine_models_dir()) / BATCHED_MODELS["SFace"]))
    shape = model.inputs[0].partial_shape
    shape[0] = -1
    model.reshape({model.inputs[0]: shape})
    config = {"INFERENCE_NUM_THREADS": 1, "ENABLE_CPU_PINNING": False,
              "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}  # fmt: skip
    variants = {"f32": model}
    data = nncf.Dataset(calibration, lambda face: model_input([face]))
    variants["int8 (default)"] = nncf.quantize(model, data, subset_size=len(calibration))
    variants["int8 (accurate bias correction, mixed preset)"] = nncf.quantize(
        model, data, subset_size=len(calibration), preset=nncf.QuantizationPreset.MIXED,
        fast_bias_correction=False,
    )  # fmt: skip
    from catalog.services.clustering import grouping_threshold

    thresholds = {"track_link": grouping_distance("SFace"), "grouping": grouping_threshold("SFace")}
    same = np.asarray(names)[:, None] == np.asarray(names)[None, :]
    upper = np.triu(np.ones_like(same), 1)
    reference = None
    report = {"calibration_faces": len(calibration), "photo_faces": len(photos),
              "pairs": int(upper.sum()), "thresholds": thresholds,
              "variants": {}}  # fmt: skip
    compiled = {name: core.compile_model(v, "CPU", config) for name, v in variants.items()}
    for name, model_variant in compiled.items():
        vectors = embed(model_variant, photos)
        distances = (1.0 - vectors @ vectors.T)[upper]
        row = {"tar_at_1pct_far": tar_at_far(distances, same[upper]),
               "ms_per_face_batch_1": [], "ms_per_face_batch_8": []}  # fmt: skip
        if reference is None:
            reference = distances
        else:
            moved = np.abs(distances - reference)
            row.update(distance_moved_mean=float(moved.mean()),
                       distance_moved_max=float(moved.max()))  # fmt: skip
            for kind, threshold in thresholds.items():
                crossed = (distances < threshold) != (reference < threshold)
                row[f"pairs_crossing_{kind}_threshold"] = int(crossed.sum())
        report["variants"][name] = row
    for _ in range(3):  # the machine is shared: the models take turns, three rounds
        for name, model_variant in compiled.items():
            for batch in (1, 8):
                timing = ms_per_face(model_variant, photos, batch)
                report["variants"][name][f"ms_per_face_batch_{batch}"].append(timing)
    for name, row in report["variants"].items():
        print(name, row, flush=True)
    report["load_average_1min"] = os.getloadavg()[0]
    output = REPO / "benchmarks" / "results" / "sface_int8.json"
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {output}")


def engine_models_dir() -> Path:
    from django.conf import settings

    return settings.FACE_MODELS_DIR


if __name__ == "__main__":
    main()
