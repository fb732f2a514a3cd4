"""What the catalog knows: videos, the face tracks and faces found in them, and people.

The database is the source of truth, embeddings included; the vector index is rebuilt from it.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.core.files.storage import storages
from django.db import models


def video_storage():
    """Where videos go: the `videos` storage, a bucket only with S3_STORE_VIDEOS on."""
    return storages["videos"]


class Video(models.Model):
    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload"
        URL = "url", "URL"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=10, choices=Source.choices)
    # The file name or URL exactly as the user gave it.
    original_name = models.CharField(max_length=2048)
    title = models.CharField(max_length=500, blank=True)
    file = models.FileField(upload_to="videos/%Y/%m/", max_length=500, storage=video_storage)
    content_sha256 = models.CharField(max_length=64, unique=True)
    size_bytes = models.BigIntegerField(default=0)
    duration_s = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or self.original_name


class PersonQuerySet(models.QuerySet):
    def curated(self) -> PersonQuerySet:
        """People a curator named or locked: re-clustering never renames, merges away or
        empties them."""
        return self.filter(models.Q(named_by_curator=True) | models.Q(locked=True))

    def left_empty(self) -> PersonQuerySet:
        """People with no face left whom no curator named or locked. They are removed after
        grouping, curation and deletion alike; a curated person stays even with no face, so a
        name a curator gave never vanishes."""
        return self.filter(faces__isnull=True, named_by_curator=False, locked=False)

    def delete_left_empty(self) -> int:
        """Remove the people of this queryset that are left empty; returns how many."""
        _, deleted = self.left_empty().delete()
        return deleted.get(Person._meta.label, 0)


class Person(models.Model):
    """A cluster of faces believed to be one person."""

    name = models.CharField(max_length=200, blank=True)
    # Curated people are never renamed, merged away or emptied by re-clustering.
    named_by_curator = models.BooleanField(default=False)
    locked = models.BooleanField(default=False, help_text="Re-clustering never changes it.")
    hidden = models.BooleanField(default=False)
    # Kept by the database's triggers (catalog/face_totals.py), never written by code.
    face_total = models.PositiveIntegerField(default=0, editable=False)
    cover_face = models.ForeignKey(
        "Face", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.name or f"Person {self.pk}"

    def save(self, *args, **kwargs) -> None:
        # An update never writes face_total: the value in memory may be older than the
        # triggers' (faces moved since the row was read).
        if self.pk is not None and not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "face_total"
            ]
        super().save(*args, **kwargs)


class Track(models.Model):
    """One face followed across neighbouring sampled frames of one video."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="tracks")
    index_in_video = models.PositiveIntegerField()
    start_time_s = models.FloatField()
    end_time_s = models.FloatField()
    # Every detection of the track: [time_s, frame_index, x, y, w, h, confidence] in pixels of the
    # original frame. Only the best few become Face rows; these say where the person is when.
    detections = models.JSONField(default=list)
    # The track's vector as grouping computes it (catalog.grouping.track_template over its faces
    # of `template_model`, "not a face" crops left out), float32: the vector of the track's point
    # in the index of track templates (index_sync.get_track_index), which finds a new video's
    # candidates, and what grouping reads without reading each track's faces. Null until written
    # (ingestion writes it; catalog_tracks.track_templates fills a missing one when it is read);
    # empty when the track has no face to make one of (catalog_tracks.NO_TEMPLATE).
    template = models.BinaryField(null=True, editable=False)
    template_model = models.CharField(max_length=50, blank=True, editable=False)

    class Meta:
        ordering = ["video_id", "index_in_video"]
        # Tracks overlapping a time span of one video (who appears with whom) read from the
        # index alone, never from rows heavy with their detections.
        indexes = [models.Index(fields=["video", "start_time_s", "end_time_s"])]
        constraints = [
            models.UniqueConstraint(fields=["video", "index_in_video"], name="unique_track_index")
        ]

    def __str__(self) -> str:
        return f"Track {self.index_in_video} of video {self.video_id}"

    @staticmethod
    def frames_in(detections: list) -> frozenset[int]:
        """The frame indices a track with these detections is on screen in."""
        return frozenset(int(detection[1]) for detection in detections)


def face_crop_path(face: Face, filename: str) -> str:
    """One folder per video: processing a video again (a job retried after a crash) clears it
    first, so no crop of an earlier attempt is left behind."""
    return f"{video_crops_folder(face.video_id)}/{filename}"


def video_crops_folder(video_id: int) -> str:
    return f"faces/v{video_id}"


class Face(models.Model):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="faces")
    # Indexed with the person below (the person of each face of a track, from the index alone).
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="faces", db_index=False)
    # Indexed with the video and the track below (a person's videos and tracks, from the index
    # alone: face rows are heavy with their embedding).
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="faces",
        db_index=False,
    )
    time_s = models.FloatField()
    frame_index = models.PositiveIntegerField()
    box_x = models.PositiveIntegerField()
    box_y = models.PositiveIntegerField()
    box_w = models.PositiveIntegerField()
    box_h = models.PositiveIntegerField()
    detector_confidence = models.FloatField()
    quality = models.FloatField(help_text="0-1: sharpness, size, pose and confidence together.")
    crop = models.ImageField(upload_to=face_crop_path, max_length=500)
    embedding = models.BinaryField(help_text="float32 vector, L2-normalised.")
    embedding_model = models.CharField(max_length=50)
    embedding_dim = models.PositiveSmallIntegerField()
    # A curator's "not a face": left out of people, grouping and search, kept for the record.
    is_not_face = models.BooleanField(default=False, verbose_name="not a face")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["video_id", "time_s"]
        indexes = [
            models.Index(fields=["embedding_model", "person"]),
            models.Index(fields=["track", "person"]),
            models.Index(fields=["person", "video", "track"]),
        ]

    def __str__(self) -> str:
        return f"Face {self.pk} at {self.time_s:.1f}s of video {self.video_id}"

    @property
    def vector(self) -> np.ndarray:
        return np.frombuffer(self.embedding, dtype=np.float32)


class TrackRejection(models.Model):
    """A curator's "not this person": no grouping, incremental or full, puts this track (and so
    its faces) into this person again."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="rejections")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="rejected_tracks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["track", "person"], name="unique_track_rejection")
        ]

    def __str__(self) -> str:
        return f"track {self.track_id} is not {self.person}"


class DifferentPeople(models.Model):
    """A curator's "different people" for a suggested merge: never suggested again. The pair is
    stored once, the smaller id first."""

    person_a = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    person_b = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "different people"
        constraints = [
            models.UniqueConstraint(fields=["person_a", "person_b"], name="unique_people_pair"),
            models.CheckConstraint(
                condition=models.Q(person_a__lt=models.F("person_b")), name="people_pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_a} is not {self.person_b}"


class CurationAction(models.Model):
    """One decision of a curator, with the state before and after it, so it can be undone."""

    class Kind(models.TextChoices):
        RENAME = "rename", "Rename"
        MERGE = "merge", "Merge people"
        SPLIT = "split", "Split faces into a new person"
        MOVE = "move", "Move faces"
        REJECT = "reject", "Not this person"
        NOT_A_FACE = "not_a_face", "Not a face"
        RESTORE_FACE = "restore_face", "A face after all"
        COVER = "cover", "Set cover face"
        HIDE = "hide", "Hide or show"
        LOCK = "lock", "Lock or unlock"
        DELETE_PERSON = "delete_person", "Delete person"
        DIFFERENT_PEOPLE = "different_people", "Different people"
        REGROUP_UNASSIGNED = "regroup_unassigned", "Regroup unassigned faces"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=500)
    # {"people": {id: fields or null}, "faces": {id: {person, is_not_face}}, "rejections":
    # [[track, person]], "different": [[a, b]]}: what the action touched, before and after.
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"
