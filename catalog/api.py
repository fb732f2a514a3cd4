"""API for the catalog's videos and faces (people and curation: `catalog/api_people.py`). Views
stay thin: selectors read, services change."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.generics import ListAPIView
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from apitools import ID_PATTERN, errors, valid_body
from catalog import selectors
from catalog.filters import FaceFilter, VideoFilter
from catalog.models import Face
from catalog.serializers import (
    ChangedFacesSerializer,
    FaceSerializer,
    MoveFacesSerializer,
    PersonSerializer,
    VideoInfoSerializer,
    VideoSerializer,
)
from catalog.services import curation, videos


class ClusterListView(ListAPIView):
    """The seed's `/api/clusters`: the people found (hidden ones left out), most faces first."""

    serializer_class = PersonSerializer
    filterset_class = None
    queryset = selectors.people_for_gallery()


def _video_with_faces(video_id: int):
    faces = Face.objects.select_related("person").order_by("time_s", "id")
    return get_object_or_404(
        selectors.videos_with_counts().prefetch_related(Prefetch("faces", queryset=faces)),
        pk=video_id,
    )


@extend_schema(responses={200: VideoInfoSerializer, **errors(404)}, summary="A video and its faces")
@api_view(["GET"])
def video_info(request, video_id: int):
    return Response(
        VideoInfoSerializer(_video_with_faces(video_id), context={"request": request}).data
    )


class VideoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                   viewsets.GenericViewSet):  # fmt: skip
    """Videos in the catalog, newest first; one video comes with its faces. Deleting a video
    removes its faces, crops, file and index points."""

    queryset = selectors.videos_with_counts()
    filterset_class = VideoFilter
    lookup_value_regex = ID_PATTERN

    def get_serializer_class(self):
        return VideoInfoSerializer if self.action == "retrieve" else VideoSerializer

    def retrieve(self, request, pk=None):
        video = _video_with_faces(int(pk))
        return Response(VideoInfoSerializer(video, context={"request": request}).data)

    @extend_schema(responses={204: None, **errors(404, 409)}, summary="Delete a video")
    def destroy(self, request, pk=None):
        videos.delete_video(self.get_object())
        return Response(status=204)


class FaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Faces found in videos; a curator may say a crop is not a face (and take it back)."""

    queryset = Face.objects.order_by("id")
    serializer_class = FaceSerializer
    filterset_class = FaceFilter
    lookup_value_regex = ID_PATTERN

    @extend_schema(
        request=MoveFacesSerializer,
        responses={200: ChangedFacesSerializer, **errors(400)},
        summary="These crops are not faces: out of people, grouping and search",
    )
    @action(detail=False, methods=["post"], parser_classes=[JSONParser])
    def not_a_face(self, request):
        faces = valid_body(MoveFacesSerializer, request)["faces"]
        return Response({"faces": curation.mark_not_faces(faces, user=request.user)})

    @extend_schema(
        request=MoveFacesSerializer,
        responses={200: ChangedFacesSerializer, **errors(400)},
        summary="Faces after all: grouped again",
    )
    @action(detail=False, methods=["post"], parser_classes=[JSONParser])
    def restore(self, request):
        faces = valid_body(MoveFacesSerializer, request)["faces"]
        return Response({"faces": curation.restore_faces(faces, user=request.user)})
