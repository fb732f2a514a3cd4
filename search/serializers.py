from rest_framework import serializers

from apitools import MAX_ID


class SearchRequestSerializer(serializers.Serializer):
    photo = serializers.ImageField(required=False, help_text="a photo of the person to find")
    face_id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="or: a face of the catalog (more like this)",
    )
    face = serializers.IntegerField(
        required=False, min_value=0, help_text="which face of the photo, left to right from 0"
    )
    top = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)

    def validate(self, data):
        if ("photo" in data) == ("face_id" in data):
            raise serializers.ValidationError("Send either a photo or a face_id.")
        return data


class PhotoFaceSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    box = serializers.ListField(child=serializers.IntegerField(), min_length=4, max_length=4)
    confidence = serializers.FloatField()


class FaceMatchSerializer(serializers.Serializer):
    face_id = serializers.IntegerField()
    video_id = serializers.IntegerField()
    time_s = serializers.FloatField()
    similarity = serializers.FloatField()
    score = serializers.FloatField()


class MomentSerializer(serializers.Serializer):
    video_id = serializers.IntegerField()
    video_title = serializers.CharField()
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()


class PersonMatchSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    name = serializers.CharField()
    score = serializers.FloatField(help_text="0-1; 0.5 at the model's own same-person threshold")
    similarity = serializers.FloatField(help_text="cosine similarity of the best face")
    best_faces = FaceMatchSerializer(many=True)
    moments = MomentSerializer(many=True)


class SearchResultSerializer(serializers.Serializer):
    faces = PhotoFaceSerializer(many=True, help_text="faces found in the photo (none by face_id)")
    chosen_face = serializers.IntegerField(allow_null=True)
    people = PersonMatchSerializer(many=True)
