"""API for search: by photo upload, or "more like this face" by face id."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, parser_classes, throttle_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from apitools import errors
from search.serializers import SearchRequestSerializer, SearchResultSerializer
from search.services.photo_search import search_by_photo, search_like_face


class SearchRateThrottle(UserRateThrottle):
    """Search by photo runs the face models: so many a minute per user (SEARCH_RATE_LIMIT)."""

    scope = "search"


@extend_schema(
    request={"multipart/form-data": SearchRequestSerializer,
             "application/json": SearchRequestSerializer},
    responses={200: SearchResultSerializer, **errors(400, 404, 413, 415, 429)},
    summary="Who is this? People ranked by likeness, with where they appear",
)  # fmt: skip
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser, JSONParser])
@throttle_classes([SearchRateThrottle])
def search(request):
    query = SearchRequestSerializer(data=request.data)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    if "face_id" in data:
        people = search_like_face(data["face_id"], data["top"])
        return Response({"faces": [], "chosen_face": None, "people": [asdict(p) for p in people]})
    result = search_by_photo(data["photo"].read(), data.get("face"), data["top"])
    return Response(asdict(result))
