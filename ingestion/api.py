"""API for getting videos in and following jobs. Views stay thin: the intake service and the
queue do the work."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, parser_classes
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from apitools import ID_PATTERN, errors
from ingestion.filters import JobFilter
from ingestion.models import IngestJob
from ingestion.serializers import (
    JobAcceptedSerializer,
    JobSerializer,
    JobStatusSerializer,
    ProcessUrlSerializer,
    ProcessUrlsSerializer,
    UploadAcceptedSerializer,
    UploadVideoSerializer,
    UrlJobsSerializer,
)
from ingestion.services import intake, jobs
from ingestion.services.queue import enqueue_job
from ingestion.sources import SourceError
from ingestion.sources.url_policy import check_url_allowed


def _queue_url(url: str) -> IngestJob:
    """Refuse a URL we would refuse to fetch now, rather than in a failed job later."""
    check_url_allowed(url, settings.ALLOW_PRIVATE_URLS)
    return enqueue_job(intake.create_url_job(url))


@extend_schema(
    request={"multipart/form-data": UploadVideoSerializer},
    responses={202: UploadAcceptedSerializer, **errors(400, 413, 415)},
    summary="Upload a video; it is processed in the background",
)
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
def upload_video(request):
    serializer = UploadVideoSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    upload = serializer.validated_data["file"]
    video, _ = intake.receive_upload(upload, upload.name, size_bytes=upload.size)
    job = enqueue_job(intake.create_job_for_video(video, IngestJob.Kind.UPLOAD))
    return Response({"job_id": job.id, "video_id": video.id}, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request=ProcessUrlSerializer,
    responses={202: JobAcceptedSerializer, **errors(400, 415)},
    summary="Download and process a video from a URL",
)
@api_view(["POST"])
@parser_classes([JSONParser, FormParser, MultiPartParser])
def process_url(request):
    serializer = ProcessUrlSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    job = _queue_url(serializer.validated_data["url"])
    return Response({"job_id": job.id}, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request=ProcessUrlsSerializer,
    responses={202: UrlJobsSerializer, **errors(400, 415)},
    summary="Queue a batch of URLs; refused entries are reported, the others still queued",
)
@api_view(["POST"])
@parser_classes([JSONParser])
def process_urls(request):
    serializer = ProcessUrlsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    jobs = []
    for url in serializer.validated_data["urls"]:
        try:
            ProcessUrlSerializer(data={"url": url}).is_valid(raise_exception=True)
            jobs.append({"url": url, "job_id": _queue_url(url).id})
        except SourceError as error:  # one refused entry must not stop the batch
            jobs.append({"url": url, "job_id": None, "error": str(error)})
        except ValidationError as error:  # not a URL at all
            jobs.append({"url": url, "job_id": None, "error": str(error.detail["url"][0])})
    return Response({"jobs": jobs}, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request=None,
    responses={202: JobAcceptedSerializer, **errors()},
    summary="Regroup every face into people in the background",
)
@api_view(["POST"])
def cluster_faces(request):
    """The seed's name: regroups people (named and locked people keep their faces)."""
    job = IngestJob.objects.create(kind=IngestJob.Kind.REGROUP_PEOPLE, source="all faces")
    enqueue_job(job)
    return Response({"job_id": job.id}, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses={200: JobStatusSerializer, **errors(404)}, summary="A job's progress")
@api_view(["GET"])
def job_status(request, job_id: int):
    return Response(JobStatusSerializer(get_object_or_404(IngestJob, pk=job_id)).data)


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Ingestion and regrouping jobs, newest first; a failed or cancelled one can be retried, a
    queued or running one cancelled."""

    queryset = IngestJob.objects.all()
    serializer_class = JobSerializer
    lookup_value_regex = ID_PATTERN
    filterset_class = JobFilter

    @extend_schema(request=None, responses={202: JobSerializer, **errors(404, 409)},
                   summary="Run a failed or cancelled job again")  # fmt: skip
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        job = jobs.retry_job(self.get_object())
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: JobSerializer, **errors(404, 409)},
                   summary="Cancel a queued or running job (its video stays)")  # fmt: skip
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return Response(JobSerializer(jobs.cancel_job(self.get_object())).data)
