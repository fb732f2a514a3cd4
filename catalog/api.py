"""API for the catalog: videos, faces and people, and a curator's changes to people. Views stay
thin: selectors read, the curation service changes."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response

from apitools import ID_PATTERN, errors
from catalog import selectors
from catalog.filters import FaceFilter, PersonFilter, VideoFilter
from catalog.models import Face, Person
from catalog.serializers import (
    FaceSerializer,
    MergePeopleSerializer,
    MovedFacesSerializer,
    MoveFacesSerializer,
    PersonSerializer,
    PersonUpdateSerializer,
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
    queryset = Face.objects.order_by("id")
    serializer_class = FaceSerializer
    filterset_class = FaceFilter
    lookup_value_regex = ID_PATTERN


class PersonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                    viewsets.GenericViewSet):  # fmt: skip
    """People (faces grouped as one person). PATCH renames or hides; merge and move faces are
    actions."""

    queryset = selectors.people_with_counts()
    serializer_class = PersonSerializer
    filterset_class = PersonFilter
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "patch", "post", "head", "options"]

    def _fresh(self, person: Person) -> dict:
        person = selectors.people_with_counts().get(pk=person.pk)
        return PersonSerializer(person, context=self.get_serializer_context()).data

    @extend_schema(request=PersonUpdateSerializer,
                   responses={200: PersonSerializer, **errors(400, 404)})  # fmt: skip
    def partial_update(self, request, pk=None):
        person = self.get_object()
        changes = PersonUpdateSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        if "name" in changes.validated_data:
            curation.rename_person(person, changes.validated_data["name"])
        if "hidden" in changes.validated_data:
            curation.set_person_hidden(person, changes.validated_data["hidden"])
        return Response(self._fresh(person))

    @extend_schema(exclude=True)
    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=MergePeopleSerializer,
                   responses={200: PersonSerializer, **errors(400, 404)},
                   summary="Merge other people into this one")  # fmt: skip
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        person = self.get_object()
        body = MergePeopleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        wanted = set(body.validated_data["people"]) - {person.id}
        others = list(Person.objects.filter(id__in=wanted))
        missing = wanted - {p.id for p in others}
        if missing:
            raise NotFound(f"No such people: {sorted(missing)}")
        curation.merge_people(person, others)
        return Response(self._fresh(person))

    @extend_schema(request=MoveFacesSerializer,
                   responses={200: MovedFacesSerializer, **errors(400, 404)},
                   summary="Move faces (with their tracks) to this person")  # fmt: skip
    @action(detail=True, methods=["post"], url_path="faces")
    def move_faces(self, request, pk=None):
        person = self.get_object()
        body = MoveFacesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        moved = curation.move_faces(body.validated_data["faces"], person)
        return Response({"moved_faces": moved, "person": self._fresh(person)})
