"""The search page: drop or paste a photo (its faces drawn as boxes to pick from), or "more like
this face" from any crop. The page's script posts the photo and inserts the results rendered
here; an unusable photo's `PhotoError` comes back as a JSON error (faaaaaces/middleware.py)."""

from django.http import JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from catalog.models import Face, Person
from search.services.photo_search import PersonMatch, search_by_photo, search_like_face

TOP_PEOPLE = 10
# Scores are calibrated so that 0.5 sits at the recognition model's own "same person"
# threshold: people under it are shown apart, as probably someone else.
LIKELY_SCORE = 0.5


def _results_context(matches: list[PersonMatch]) -> dict:
    """The matches with the rows the page shows: each person's cover and best crops."""
    people = Person.objects.select_related("cover_face").in_bulk([m.person_id for m in matches])
    face_ids = [f.face_id for m in matches for f in m.best_faces]
    faces = Face.objects.in_bulk(face_ids)
    results = [
        {
            "match": match,
            "person": people.get(match.person_id),
            "faces": [(f, faces[f.face_id]) for f in match.best_faces if f.face_id in faces],
        }
        for match in matches
    ]
    return {
        "likely": [r for r in results if r["match"].score >= LIKELY_SCORE],
        "unlikely": [r for r in results if r["match"].score < LIKELY_SCORE],
        "likely_score": LIKELY_SCORE,
    }


@require_GET
def search_page(request):
    context = {}
    face_id = request.GET.get("face", "")
    if face_id.isdigit():
        like_face = Face.objects.filter(pk=int(face_id)).select_related("person").first()
        context.update(_results_context(search_like_face(int(face_id), TOP_PEOPLE)))
        # Each person found can take the face's own person in: a merge picked by face.
        context.update(like_face=like_face, merge_from=like_face.person, searched=True)
    return render(request, "search/search.html", context)


@require_POST
def search_photo(request):
    photo = request.FILES.get("photo")
    face = request.POST.get("face", "")
    result = search_by_photo(
        photo.read() if photo else b"", int(face) if face.isdigit() else None, TOP_PEOPLE
    )
    html = render_to_string(
        "search/_results.html", {**_results_context(result.people), "searched": True}, request
    )
    return JsonResponse(
        {
            "faces": [{"number": f.number, "box": f.box} for f in result.faces],
            "chosen_face": result.chosen_face,
            "html": html,
        }
    )
