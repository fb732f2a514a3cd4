"""The admin's own pages for curators: acting on a person's selected faces, merge suggestions,
regrouping unassigned faces and undo. Thin: each calls the curation service and says what
happened (or why it was refused) as a message on the page it returns to."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog.models import Face, Person
from catalog.services import curation
from catalog.services.curation_log import UndoRefused
from catalog.services.suggestions import suggestions_for_page

BEST_FACES_SHOWN = 4


def _selected_faces(request) -> list[int]:
    return [int(value) for value in request.POST.getlist("faces") if value.isdigit()]


def _person_page(person_id: int) -> HttpResponseRedirect:
    if Person.objects.filter(pk=person_id).exists():
        return HttpResponseRedirect(reverse("admin:catalog_person_change", args=[person_id]))
    return HttpResponseRedirect(reverse("admin:catalog_person_changelist"))


def run_and_tell(request, operation, done: str) -> bool:
    """Run one curation operation; tell the curator what happened or why it was refused."""
    try:
        result = operation()
    except (curation.CurationError, UndoRefused) as error:
        messages.error(request, str(error))
        return False
    messages.success(request, done.format(result=result))
    return True


@require_POST
def act_on_faces(request, model_admin, person_id: int):
    """The form under a person's face grid: split, move, not this person, not a face, cover."""
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    person = get_object_or_404(Person, pk=person_id)
    faces = _selected_faces(request)
    if not faces:
        messages.error(request, "Select at least one face first.")
        return _person_page(person.id)
    user, operation = request.user, request.POST.get("operation")
    if operation == "split":
        run_and_tell(
            request,
            lambda: curation.split_faces(faces, user=user).id,
            "The faces are a new person, {result}.",
        )
    elif operation == "move":
        target = request.POST.get("to_person", "")
        to_person = Person.objects.filter(pk=int(target)).first() if target.isdigit() else None
        if to_person is None:
            messages.error(request, f"There is no person {target!r} to move the faces to.")
        else:
            run_and_tell(
                request,
                lambda: curation.move_faces(faces, to_person, user=user),
                f"{{result}} face(s) moved to {to_person}.",
            )
    elif operation == "reject":
        run_and_tell(
            request,
            lambda: curation.reject_faces(faces, person, user=user),
            f"{{result}} face(s) are not {person} and were grouped again.",
        )
    elif operation == "not_a_face":
        run_and_tell(
            request,
            lambda: curation.mark_not_faces(faces, user=user),
            "{result} crop(s) marked as not a face.",
        )
    elif operation == "cover" and len(faces) == 1:
        face = Face.objects.filter(pk=faces[0]).first()
        run_and_tell(
            request, lambda: curation.set_cover_face(person, face, user=user), "Cover face set."
        )
    else:
        messages.error(request, "Choose what to do with the selected faces (one face for a cover).")
    return _person_page(person.id)


def merge_suggestions_page(request, model_admin):
    """Pairs of people who are probably one, nearest first, with their best faces side by side."""
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    if request.method == "POST":
        return _answer_suggestion(request)
    page = max(1, int(request.GET.get("page", "1") or 1))
    pairs = suggestions_for_page(page)
    people = Person.objects.in_bulk({p for s in pairs for p in (s.person_id, s.other_id)})
    rows = [
        {"suggestion": s, "people": [(people[i], _best_faces(people[i])) for i in ids]}
        for s, ids in ((s, (s.person_id, s.other_id)) for s in pairs)
        if all(i in people for i in ids)
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Merge suggestions",
        "rows": rows,
        "page": page,
        "next_page": page + 1,
        "previous_page": page - 1 if page > 1 else None,
    }
    return TemplateResponse(request, "admin/catalog/person/suggestions.html", context)


def _best_faces(person: Person) -> list[Face]:
    return list(person.faces.filter(is_not_face=False).order_by("-quality")[:BEST_FACES_SHOWN])


def _answer_suggestion(request):
    first = get_object_or_404(Person, pk=request.POST.get("person", "0"))
    second = get_object_or_404(Person, pk=request.POST.get("other", "0"))
    if request.POST.get("answer") == "same":
        # The named one (or the one with more faces) stays and takes the other's faces.
        into, other = sorted(
            (first, second), key=lambda p: (not p.named_by_curator, -p.faces.count(), p.id)
        )
        run_and_tell(
            request,
            lambda: curation.merge_people(into, [other], user=request.user),
            f"{other} merged into {into}.",
        )
    else:
        run_and_tell(
            request,
            lambda: curation.mark_different_people(first, second, user=request.user),
            f"{first} and {second} are different people: never suggested again.",
        )
    return HttpResponseRedirect(request.get_full_path())


@require_POST
def regroup_unassigned_view(request, model_admin):
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    run_and_tell(
        request,
        lambda: curation.regroup_unassigned(user=request.user),
        "{result} unassigned face(s) grouped into people.",
    )
    return HttpResponseRedirect(reverse("admin:catalog_person_changelist"))


@require_POST
def undo_latest_view(request, model_admin):
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    run_and_tell(request, lambda: curation.undo(user=request.user), "Undone: {result}.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("admin:catalog_curationaction_changelist")
    return HttpResponseRedirect(back)
