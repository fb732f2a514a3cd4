"""A labeled dataset laid out like ../shared/data, read into plain objects.

    videos/<name>.<ext> + videos/<name>.truth.json   who is on screen when, left to right
    people/<identity>/<photo>                          photos of one person per folder
    misc/<photo> + misc/truth.json                     faces per photo (optional)

Photos that a video was built from (a truth segment's `source`) are kept out of the search
queries, so search is always scored on photos the catalog has never seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evaluation.scoring import VideoTruth

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


class DatasetError(ValueError):
    """The folder is not a dataset that can be evaluated; the message says why."""


@dataclass(frozen=True)
class LabeledVideo:
    path: Path
    truth: VideoTruth | None  # None: no truth file, ingested but not scored

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class LabeledPhoto:
    path: Path
    identity: str


@dataclass(frozen=True)
class MiscPhoto:
    path: Path
    faces: int
    faces_min: int
    faces_max: int
    noses: tuple[tuple[float, float], ...] = ()  # where annotated: one point per face

    @property
    def expects_no_face(self) -> bool:
        return self.faces_max == 0


@dataclass(frozen=True)
class Dataset:
    root: Path
    videos: tuple[LabeledVideo, ...]
    photos: tuple[LabeledPhoto, ...]
    misc: tuple[MiscPhoto, ...]

    @classmethod
    def load(cls, root: Path) -> Dataset:
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root} is not a folder")
        videos = tuple(_load_videos(root / "videos"))
        photos = tuple(_load_people(root / "people"))
        misc = tuple(_load_misc(root / "misc"))
        if not videos and not photos and not misc:
            raise DatasetError(
                f"{root} has no videos/, people/ or misc/ with anything to evaluate "
                "(see the layout in `manage.py evaluate --help`)"
            )
        return cls(root=root, videos=videos, photos=photos, misc=misc)

    @property
    def identities_in_videos(self) -> set[str]:
        return {name for video in self.videos if video.truth for name in video.truth.names}

    @property
    def photos_used_in_videos(self) -> set[Path]:
        used = set()
        for video in self.videos:
            if video.truth:
                used |= {(video.path.parent / s).resolve() for s in video.truth.source_files}
        return used

    @property
    def held_out_photos(self) -> list[LabeledPhoto]:
        used = self.photos_used_in_videos
        return [p for p in self.photos if p.path.resolve() not in used]


def _load_videos(folder: Path):
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
            truth_path = path.with_suffix(".truth.json")
            try:
                truth = VideoTruth.load(truth_path) if truth_path.exists() else None
            except (ValueError, KeyError, TypeError) as error:
                raise DatasetError(f"{truth_path} cannot be read: {error}") from error
            yield LabeledVideo(path, truth)


def _load_people(folder: Path):
    if not folder.is_dir():
        return
    for person in sorted(p for p in folder.iterdir() if p.is_dir()):
        for path in sorted(person.iterdir()):
            if path.suffix.lower() in PHOTO_SUFFIXES and path.is_file():
                yield LabeledPhoto(path, person.name)


def _load_misc(folder: Path):
    truth_path = folder / "truth.json"
    if not truth_path.is_file():
        return
    try:
        truth = json.loads(truth_path.read_text())
    except ValueError as error:
        raise DatasetError(f"{truth_path} cannot be read: {error}") from error
    for file_name, entry in sorted(truth.items()):
        path = folder / file_name
        if not path.is_file() or "faces" not in entry:
            continue
        faces = int(entry["faces"])
        yield MiscPhoto(
            path=path,
            faces=faces,
            faces_min=int(entry.get("faces_min", faces)),
            faces_max=int(entry.get("faces_max", faces)),
            noses=tuple((float(x), float(y)) for x, y in entry.get("noses_xy", [])),
        )
