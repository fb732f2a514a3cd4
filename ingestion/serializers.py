from rest_framework import serializers

from ingestion.models import IngestJob


class JobStatusSerializer(serializers.ModelSerializer):
    video_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = IngestJob
        fields = ["id", "status", "stage", "progress", "error", "warnings", "video_id"]


class JobSerializer(serializers.ModelSerializer):
    video_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = IngestJob
        fields = ["id", "kind", "source", "status", "stage", "progress", "error", "warnings",
                  "attempt", "result", "video_id", "created_at", "started_at",
                  "finished_at"]  # fmt: skip


class UploadVideoSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="the video file")


class UploadAcceptedSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    video_id = serializers.IntegerField()


class ProcessUrlSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2048, help_text="a page yt-dlp knows or a video file")


class JobAcceptedSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()


class ProcessUrlsSerializer(serializers.Serializer):
    urls = serializers.ListField(child=serializers.CharField(max_length=2048), min_length=1,
                                 max_length=500)  # fmt: skip


class UrlJobSerializer(serializers.Serializer):
    url = serializers.CharField()
    job_id = serializers.IntegerField(allow_null=True, help_text="null when the URL is refused")
    error = serializers.CharField(required=False, help_text="why the URL was refused")


class UrlJobsSerializer(serializers.Serializer):
    jobs = UrlJobSerializer(many=True)
