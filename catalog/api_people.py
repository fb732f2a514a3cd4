"""API for people and a curator's decisions about them: thin views over the curation service
(whose errors `faaaaaces/api.py` turns into HTTP), suggestions, and the log with undo."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from apitools import ID_PATTERN, errors, valid_body
from catalog import selectors
from catalog.filters import PersonFilter
from catalog.models import CurationAction, Face, Person
from catalog.serializers import (
    ChangedFacesSerializer,
    CurationActionSerializer,
    MergePeopleSerializer,
    MergeSuggestionSerializer,
    MovedFacesSerializer,
    MoveFacesSerializer,
    OtherPersonSerializer,
    PersonSerializer,
    PersonUpdateSerializer,
)
from catalog.services import curation
from catalog.services.suggestions import merge_suggestions


class PersonViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """People (faces grouped as one person). PATCH renames, hides, locks or sets the cover;
    DELETE removes a person (their faces are grouped again); merge, move, split and "not this
    person" are actions. Every change is a curator's decision: logged, undoable, kept by
    re-clustering."""

    queryset = selectors.people_with_counts()
    serializer_class = PersonSerializer
    filterset_class = PersonFilter
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "patch", "post", "delete", "head", "options"]

    def _fresh(self, person: Person) -> dict:
        person = selectors.people_with_counts().get(pk=person.pk)
        return PersonSerializer(person, context=self.get_serializer_context()).data

    @extend_schema(
        request=PersonUpdateSerializer, responses={200: PersonSerializer, **errors(400, 404, 409)}
    )
    def partial_update(self, request, pk=None):
        person, changes, user = (
            self.get_object(),
            valid_body(PersonUpdateSerializer, request),
            request.user,
        )
        if "name" in changes:
            person = curation.rename_person(
                person, changes["name"], user=user, merge_if_taken=changes["merge"]
            )
        if "hidden" in changes:
            curation.set_person_hidden(person, changes["hidden"], user=user)
        if "locked" in changes:
            curation.set_person_locked(person, changes["locked"], user=user)
        if "cover_face" in changes:
            face = None
            if changes["cover_face"] is not None:
                face = Face.objects.filter(pk=changes["cover_face"]).first()
                if face is None:
                    raise NotFound(f"There is no face {changes['cover_face']}.")
            curation.set_cover_face(person, face, user=user)
        return Response(self._fresh(person))

    @extend_schema(exclude=True)
    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(
        responses={204: None, **errors(404)},
        summary="Delete a person; their faces are grouped again",
    )
    def destroy(self, request, pk=None):
        curation.delete_person(self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=MergePeopleSerializer,
        responses={200: PersonSerializer, **errors(400, 404)},
        summary="Merge other people into this one",
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def merge(self, request, pk=None):
        person = self.get_object()
        wanted = set(valid_body(MergePeopleSerializer, request)["people"]) - {person.id}
        others = list(Person.objects.filter(id__in=wanted))
        missing = wanted - {p.id for p in others}
        if missing:
            raise NotFound(f"No such people: {sorted(missing)}")
        curation.merge_people(person, others, user=request.user)
        return Response(self._fresh(person))

    @extend_schema(
        request=MoveFacesSerializer,
        responses={200: MovedFacesSerializer, **errors(400, 404)},
        summary="Move faces (with their tracks) to this person",
    )
    @action(detail=True, methods=["post"], url_path="faces", parser_classes=[JSONParser])
    def move_faces(self, request, pk=None):
        person = self.get_object()
        faces = valid_body(MoveFacesSerializer, request)["faces"]
        moved = curation.move_faces(faces, person, user=request.user)
        return Response({"moved_faces": moved, "person": self._fresh(person)})

    @extend_schema(
        request=MoveFacesSerializer,
        responses={201: PersonSerializer, **errors(400, 404)},
        summary="Split faces (with their tracks) into a new person",
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def split(self, request, pk=None):
        self.get_object()
        faces = valid_body(MoveFacesSerializer, request)["faces"]
        new_person = curation.split_faces(faces, user=request.user)
        return Response(self._fresh(new_person), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=MoveFacesSerializer,
        responses={200: ChangedFacesSerializer, **errors(400, 404)},
        summary="Not this person: the faces leave for good, grouped again",
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def reject(self, request, pk=None):
        faces = valid_body(MoveFacesSerializer, request)["faces"]
        return Response(
            {"faces": curation.reject_faces(faces, self.get_object(), user=request.user)}
        )

    @extend_schema(
        request=OtherPersonSerializer,
        responses={204: None, **errors(400, 404)},
        summary="Different people: never suggested for a merge again",
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def different(self, request, pk=None):
        other_id = valid_body(OtherPersonSerializer, request)["person"]
        other = Person.objects.filter(pk=other_id).first()
        if other is None:
            raise NotFound(f"There is no person {other_id}.")
        curation.mark_different_people(self.get_object(), other, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={200: MergeSuggestionSerializer(many=True), **errors(404)},
        summary="People probably the same as this one, nearest first",
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def suggestions(self, request, pk=None):
        found = merge_suggestions(self.get_object())
        people = selectors.people_with_counts().in_bulk([s.other_id for s in found])
        context = self.get_serializer_context()
        return Response(
            [
                {
                    "person": PersonSerializer(people[s.other_id], context=context).data,
                    "distance": s.distance,
                    "score": s.score,
                }
                for s in found
                if s.other_id in people
            ]
        )

    @extend_schema(
        request=None,
        responses={200: ChangedFacesSerializer},
        summary="Group the faces that have no person",
    )
    @action(detail=False, methods=["post"], url_path="regroup_unassigned")
    def regroup_unassigned(self, request):
        return Response({"faces": curation.regroup_unassigned(user=request.user)})


class CurationActionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The log of curators' decisions, newest first; the latest one can be undone."""

    queryset = CurationAction.objects.select_related("user")
    serializer_class = CurationActionSerializer
    filterset_fields = ["kind"]
    lookup_value_regex = ID_PATTERN

    @extend_schema(
        request=None,
        responses={200: CurationActionSerializer, **errors(404, 409)},
        summary="Undo this decision (the latest, unchanged since)",
    )
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        undone = curation.undo(self.get_object(), user=request.user)
        return Response(CurationActionSerializer(undone).data)

    @extend_schema(
        request=None,
        responses={200: CurationActionSerializer, **errors(409)},
        summary="Undo the latest decision",
        operation_id="curation_undo_latest",
    )
    @action(detail=False, methods=["post"], url_path="undo")
    def undo_latest(self, request):
        return Response(CurationActionSerializer(curation.undo(user=request.user)).data)
