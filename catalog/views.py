"""Pages of the catalog: the gallery of people, a person's page with the curator's actions, and
a video's page. Each action is one view calling one service of `catalog/services/`; a refused
action's `CurationError` becomes a message on the page (faaaaaces/middleware.py)."""

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from catalog import selectors
from catalog.models import Person, Video
from catalog.services import curation

PEOPLE_PER_PAGE = 48
VIDEOS_PER_PERSON_PAGE = 10
FACES_PER_VIDEO_PAGE = 60
LANES_PER_VIDEO_PAGE = 40


@require_GET
def gallery(request):
    show = request.GET.get("show", "all")
    show = show if show in selectors.GALLERY_FILTERS else "all"
    sort = request.GET.get("sort", "appearances")
    sort = sort if sort in selectors.GALLERY_SORTS else "appearances"
    page = Paginator(selectors.gallery_people(show, sort), PEOPLE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    page.object_list = selectors.people_by_ids(page.object_list)
    return render(
        request,
        "catalog/gallery.html",
        {"page": page, "show": show, "sort": sort, "filters": selectors.GALLERY_FILTERS},
    )


@require_GET
def person_detail(request, person_id: int):
    person = get_object_or_404(Person.objects.select_related("cover_face"), pk=person_id)
    all_faces_of = request.GET.get("all", "")
    appearances = selectors.person_appearances(person)
    page = Paginator(appearances, VIDEOS_PER_PERSON_PAGE).get_page(request.GET.get("page"))
    selectors.fill_appearances(
        person, page.object_list, int(all_faces_of) if all_faces_of.isdigit() else None
    )
    return render(
        request,
        "catalog/person.html",
        {
            "person": person,
            "page": page,
            "video_count": len(appearances),
            "face_count": sum(a.face_count for a in appearances),
        },
    )


@require_GET
def people_to_pick(request):
    """Names for the person picker, as the curator types (`?q=`)."""
    people = selectors.people_to_pick(request.GET.get("q", ""))
    return JsonResponse({"people": [{"id": p.id, "name": p.name} for p in people]})


@require_GET
def person_appears_with(request, person_id: int):
    """Who appears with the person: asked for by the person's page once it has loaded, since
    for someone in hundreds of videos it takes longer than the rest of the page."""
    person = get_object_or_404(Person, pk=person_id)
    return render(
        request,
        "catalog/_appears_with.html",
        {"person": person, "companions": selectors.appears_with(person)},
    )


def _picked_person(request, person: Person) -> Person | None:
    target = selectors.resolve_person(request.POST.get("into", ""))
    if target is None:
        messages.error(request, "Pick a person from the list (by name or #number).")
    return target


@require_POST
def person_rename(request, person_id: int):
    person = curation.rename_person(
        get_object_or_404(Person, pk=person_id), request.POST.get("name", ""), user=request.user
    )
    messages.success(request, f"Renamed to {person.name or 'no name'}.")
    return redirect("catalog:person", person.id)


@require_POST
def person_hide(request, person_id: int):
    hidden = request.POST.get("hidden") == "1"
    person = get_object_or_404(Person, pk=person_id)
    person = curation.set_person_hidden(person, hidden, user=request.user)
    messages.success(request, "Hidden from the gallery and search." if hidden else "Shown again.")
    return redirect("catalog:person", person.id)


@require_POST
def person_merge(request, person_id: int):
    """Merge this person into the one picked: their faces join, and this page goes away."""
    person = get_object_or_404(Person, pk=person_id)
    target = _picked_person(request, person)
    if target is None:
        return redirect("catalog:person", person.id)
    curation.merge_people(target, [person], user=request.user)
    messages.success(request, f"Merged into {target.name or f'Unknown #{target.id}'}.")
    return redirect("catalog:person", target.id)


@require_POST
def person_move_faces(request, person_id: int):
    """Move the selected faces (with their whole tracks) to the person picked, or a new one."""
    person = get_object_or_404(Person, pk=person_id)
    face_ids = _selected_faces(request)
    if request.POST.get("into") == "new":
        target = curation.split_faces(face_ids, user=request.user)
        moved = target.faces.count()
    else:
        target = _picked_person(request, person)
        if target is None:
            return redirect("catalog:person", person.id)
        moved = curation.move_faces(face_ids, target, user=request.user)
    messages.success(request, f"Moved {moved} face(s) to {target.name or f'Unknown #{target.id}'}.")
    if Person.objects.filter(pk=person.id).exists():
        return redirect("catalog:person", person.id)
    return redirect("catalog:person", target.id)


def _selected_faces(request) -> list[int]:
    return [int(i) for i in request.POST.getlist("faces") if i.isdigit()]


@require_POST
def person_reject_faces(request, person_id: int):
    """ "Not this person": the selected faces leave for good and are grouped again elsewhere."""
    person = get_object_or_404(Person, pk=person_id)
    rejected = curation.reject_faces(_selected_faces(request), person, user=request.user)
    messages.success(request, f"{rejected} face(s) are not this person: grouped again elsewhere.")
    return redirect("catalog:person", person.id)


@require_POST
def person_not_a_face(request, person_id: int):
    """ "Not a face": the selected crops leave people and search (kept, and reversible)."""
    marked = curation.mark_not_faces(_selected_faces(request), user=request.user)
    messages.success(request, f"{marked} crop(s) marked as not a face.")
    if Person.objects.filter(pk=person_id).exists():
        return redirect("catalog:person", person_id)
    return redirect("catalog:gallery")


@require_POST
def undo_latest(request):
    """Undo the latest curator's decision, whoever made it, exactly."""
    undone = curation.undo(user=request.user)
    messages.success(request, f"Undone: {undone.summary}.")
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        return redirect("catalog:gallery")
    return redirect(back)


@require_GET
def person_export(request, person_id: int, file_format: str):
    if file_format not in ("csv", "json"):
        raise Http404("Appearances export as .csv or .json.")
    person = get_object_or_404(Person, pk=person_id)
    rows = selectors.appearance_rows(person)
    filename = f"person-{person.id}-appearances.{file_format}"
    if file_format == "json":
        response = JsonResponse({"person_id": person.id, "name": person.name, "appearances": rows})
    else:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        writer = csv.DictWriter(response, fieldnames=list(rows[0]) if rows else ["person_id"])
        writer.writeheader()
        writer.writerows(rows)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def video_detail(request, video_id: int):
    video = get_object_or_404(Video, pk=video_id)
    faces = selectors.faces_shown().filter(video=video).select_related("person").order_by("time_s")
    face_count = faces.count()
    if request.GET.get("faces") != "all":
        faces = faces[:FACES_PER_VIDEO_PAGE]
    lanes = selectors.video_lanes(video)
    lane_count = len(lanes)
    if request.GET.get("lanes") != "all":
        lanes = lanes[:LANES_PER_VIDEO_PAGE]
    return render(
        request,
        "catalog/video.html",
        {
            "video": video,
            "lanes": lanes,
            "lane_count": lane_count,
            "faces": faces,
            "face_count": face_count,
            # The jobs that brought the video in (ingestion's rows, read through the relation).
            "jobs": video.jobs.order_by("-created_at"),
            "duration_s": video.duration_s or max((f.time_s for f in faces), default=0.0) + 1,
            "start_s": _start_time(request.GET.get("t")),
        },
    )


def _start_time(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0
