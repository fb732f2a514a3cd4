"""Harder copies of labeled videos (darkened, blurred, downscaled, low bitrate), truth kept.

Footage nobody tuned for is dimmer, softer and smaller than the shared clips; these copies are
made with FFmpeg (the binary imageio-ffmpeg ships) into a folder of the caller's, every frame
at its original time, so the original `.truth.json` still holds and is copied beside each one.
Plain Python: tests and benchmarks call it; nothing here is stored in the repository.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import imageio_ffmpeg

# name -> FFmpeg options for the video stream (the picture changes, the times do not)
VARIANTS: dict[str, list[str]] = {
    # a dim room: darker, flatter, with sensor noise
    "dark": ["-vf", "eq=brightness=-0.18:contrast=0.55:gamma=0.75,noise=alls=4:allf=t"],
    "blurred": ["-vf", "gblur=sigma=2.5"],
    "downscaled": ["-vf", "scale=trunc(iw/4)*2:trunc(ih/4)*2"],  # half of each side
    "low_bitrate": ["-b:v", "250k", "-maxrate", "300k", "-bufsize", "600k"],
}

# The shared videos the issue names for degraded copies: real footage with several people and
# cuts (friends_poker) and single talking heads.
SOURCE_VIDEOS = (
    "friends_poker.mp4",
    "talking_head_1.mp4",
    "talking_head_2.mp4",
    "talking_head_4.mp4",
    "talking_head_5.mp4",
)


def make_variant(source: Path, variant: str, folder: Path) -> Path:
    """Write `<stem>_<variant>.mp4` and its truth file into `folder`; return the video path."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{source.stem}_{variant}.mp4"
    if not target.exists():
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(source),
            *VARIANTS[variant],
            "-an",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-fps_mode",
            "passthrough",  # every frame at its own time: the truth's times still hold
            str(target),
        ]
        subprocess.run(command, check=True, capture_output=True)
    truth = json.loads(source.with_suffix(".truth.json").read_text())
    truth["video"] = target.name
    target.with_suffix(".truth.json").write_text(json.dumps(truth, indent=1))
    return target


def make_variants(
    videos_dir: Path, folder: Path, variants=tuple(VARIANTS), sources=SOURCE_VIDEOS
) -> list[Path]:
    return [make_variant(videos_dir / name, v, folder) for name in sources for v in variants]
