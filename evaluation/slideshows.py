"""A catalog of many people across many videos, built from the labeled photos of a dataset.

The shared videos hold few people and only two of them in more than one video; footage nobody
tuned for has dozens of people, each seen in several videos, small, soft or noisy. This builds
that shape from `people/` (every identity with two or more photos is spread over different
videos; single-photo identities are distractors) and the named group photos of `misc/`, with
the dataset's own `tools/make_slideshow.py` (slow zoom and pan, truth written beside each
video). A third of the videos are clean, a third show the photos small with sensor noise, a
third soft and noisy. Nothing here is stored in the repository; the caller picks the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg

VIDEO_COUNT = 9
SECONDS_PER_PHOTO = 3
# video index % 3 -> how its photos are shown (make_slideshow.py's "degrade")
LOOKS = ({}, {"scale": 0.35, "noise": 6}, {"blur": 1.6, "noise": 4})
# named group photos whose faces sit in one row, left to right (misc/truth.json)
GROUP_PHOTOS = ("bbt1.jpg", "bbt3.jpg", "bbt5.jpg", "kit_with_rose.jpg", "two_people.jpg")
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


def _stable(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def slideshow_specs(dataset: Path, video_count: int = VIDEO_COUNT) -> list[list[dict]]:
    """Per video, its photos ({"file", "people"}), each identity's photos in different videos."""
    dataset = dataset.resolve()  # make_slideshow.py reads paths relative to its spec's folder
    videos: list[list[dict]] = [[] for _ in range(video_count)]
    for folder in sorted(p for p in (dataset / "people").iterdir() if p.is_dir()):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
        first = _stable(folder.name) % video_count
        for i, photo in enumerate(photos):
            videos[(first + i * 2) % video_count].append(
                {"file": str(photo), "people": [folder.name]}
            )
    truth = json.loads((dataset / "misc" / "truth.json").read_text())
    for name in GROUP_PHOTOS:
        videos[_stable(name) % video_count].append(
            {"file": str(dataset / "misc" / name), "people": truth[name]["people_left_to_right"]}
        )
    for photos in videos:  # shuffled by name, so a person's photos do not open every video
        photos.sort(key=lambda item: _stable(item["file"]))
    return videos


def make_photo_catalog(dataset: Path, folder: Path, video_count: int = VIDEO_COUNT) -> list[Path]:
    """Write `people_catalog_<n>.mp4` and their truth files into `folder`; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = dataset / "tools" / "make_slideshow.py"
    paths = []
    with tempfile.TemporaryDirectory() as scratch:
        # make_slideshow.py runs `ffmpeg`; the one imageio-ffmpeg ships goes on the PATH
        (Path(scratch) / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
        env = os.environ | {"PATH": f"{scratch}{os.pathsep}{os.environ.get('PATH', '')}"}
        for index, photos in enumerate(slideshow_specs(dataset, video_count)):
            target = folder / f"people_catalog_{index}.mp4"
            paths.append(target)
            if target.exists():
                continue
            spec = {
                "seconds_per_photo": SECONDS_PER_PHOTO,
                "fps": 25,
                "size": [1280, 720],
                "photos": photos,
                "degrade": LOOKS[index % len(LOOKS)],
            }
            spec_path = Path(scratch) / f"{target.stem}.json"
            spec_path.write_text(json.dumps(spec))
            written = Path(scratch) / target.name  # moved in whole, so a failure leaves nothing
            subprocess.run(
                [sys.executable, str(tool), str(spec_path), str(written)],
                check=True,
                capture_output=True,
                env=env,
            )
            shutil.move(written.with_suffix(".truth.json"), target.with_suffix(".truth.json"))
            shutil.move(written, target)
    return paths
