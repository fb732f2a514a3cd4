from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apitools import MAX_ID
from catalog.models import CurationAction, Face, Person, Video


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
    merge = serializers.BooleanField(
        required=False,
        default=False,
        help_text="With a name another person has: merge this person into them (else 409).",
    )
    hidden = serializers.BooleanField(required=False)
    locked = serializers.BooleanField(required=False)
    cover_face = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True,
        help_text="One of the person's faces; null for their best face.",
    )  # fmt: skip


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


class ChangedFacesSerializer(serializers.Serializer):
    faces = serializers.IntegerField(help_text="how many faces the decision changed")


class OtherPersonSerializer(serializers.Serializer):
    person = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class MergeSuggestionSerializer(serializers.Serializer):
    person = PersonSerializer(help_text="the person probably the same as this one")
    distance = serializers.FloatField(help_text="cosine distance, smaller is closer")
    score = serializers.FloatField(help_text="0-1 chance of one person, as search scores it")


class CurationActionSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CurationAction
        fields = ["id", "kind", "summary", "user", "created_at", "undone_at", "before", "after"]


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
