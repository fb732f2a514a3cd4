from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apitools import MAX_ID
from catalog.models import Face, Person, Video


def crop_url(request, face: Face | None) -> str | None:
    if face is None or not face.crop:
        return None
    url = face.crop.url
    return request.build_absolute_uri(url) if request and url.startswith("/") else url


class FaceSerializer(serializers.ModelSerializer):
    box = serializers.SerializerMethodField()
    crop_url = serializers.SerializerMethodField()

    class Meta:
        model = Face
        fields = ["id", "video", "person", "track", "time_s", "frame_index", "box",
                  "detector_confidence", "quality", "crop_url", "embedding_model"]  # fmt: skip

    @extend_schema_field({"type": "object", "properties": {
        "x": {"type": "integer"}, "y": {"type": "integer"},
        "w": {"type": "integer"}, "h": {"type": "integer"}}})  # fmt: skip
    def get_box(self, face: Face) -> dict:
        return {"x": face.box_x, "y": face.box_y, "w": face.box_w, "h": face.box_h}

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_crop_url(self, face: Face) -> str | None:
        return crop_url(self.context.get("request"), face)


class PersonSerializer(serializers.ModelSerializer):
    face_count = serializers.IntegerField(read_only=True)
    video_count = serializers.IntegerField(read_only=True)
    cover_crop_url = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = ["id", "name", "named_by_curator", "locked", "hidden", "face_count",
                  "video_count", "cover_face", "cover_crop_url"]  # fmt: skip
        read_only_fields = ["named_by_curator", "locked", "cover_face"]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_cover_crop_url(self, person: Person) -> str | None:
        return crop_url(self.context.get("request"), person.cover_face)


class PersonUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    hidden = serializers.BooleanField(required=False)


class MergePeopleSerializer(serializers.Serializer):
    people = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=1000
    )


class MoveFacesSerializer(serializers.Serializer):
    faces = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=10000,
    )


class MovedFacesSerializer(serializers.Serializer):
    moved_faces = serializers.IntegerField()
    person = PersonSerializer()


class VideoSerializer(serializers.ModelSerializer):
    face_count = serializers.IntegerField(read_only=True)
    person_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Video
        fields = ["id", "source", "original_name", "title", "content_sha256", "size_bytes",
                  "duration_s", "fps", "width", "height", "status", "error", "created_at",
                  "processed_at", "face_count", "person_count"]  # fmt: skip


class VideoInfoSerializer(VideoSerializer):
    faces = FaceSerializer(many=True, read_only=True)

    class Meta(VideoSerializer.Meta):
        fields = [*VideoSerializer.Meta.fields, "faces"]
