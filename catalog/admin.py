"""The Django admin as a curator's tool (staff only). Every change to people and faces goes
through the curation service, as the API's and the pages' do; the pages of its own (a person's
face grid, merge suggestions, regroup, undo) are in `catalog/admin_views.py`."""

from functools import partial

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import path
from django.utils.html import format_html

from catalog import admin_views
from catalog.models import (
    CurationAction,
    DifferentPeople,
    Face,
    Person,
    Track,
    TrackRejection,
    Video,
)
from catalog.services import curation, videos
from catalog.services.curation_log import latest_undoable


def crop_thumbnail(face: Face | None, height_px: int = 64) -> str:
    if not face or not face.crop:
        return ""
    return format_html(
        '<img src="{}" alt="face {}" style="height:{}px;border-radius:4px">',
        face.crop.url,
        face.id,
        height_px,
    )


def video_thumbnail(video: Video | None) -> str:
    """A video's best face (not one marked "not a face"), for lists of videos and jobs."""
    if video is None:
        return ""
    return crop_thumbnail(video.faces.filter(is_not_face=False).order_by("-quality").first())


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["id", "thumbnail", "__str__", "source", "status", "duration_s", "created_at"]
    list_filter = ["status", "source"]
    search_fields = ["title", "original_name", "content_sha256"]
    readonly_fields = [
        "content_sha256",
        "size_bytes",
        "duration_s",
        "fps",
        "width",
        "height",
        "processed_at",
    ]

    @admin.display(description="faces")
    def thumbnail(self, video: Video) -> str:
        return video_thumbnail(video)

    # Deleting goes through the service, so crops, the file and index points go with the rows.
    def delete_model(self, request, obj: Video) -> None:
        self.delete_queryset(request, Video.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        for video in queryset:
            try:
                videos.delete_video(video)
            except videos.VideoBusy as error:
                self.message_user(request, str(error), messages.WARNING)


class NamedFilter(admin.SimpleListFilter):
    title = "named"
    parameter_name = "named"

    def lookups(self, request, model_admin):
        return [("yes", "Named"), ("no", "Unnamed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(name="")
        if self.value() == "no":
            return queryset.filter(name="")
        return queryset


class PersonVideoFilter(admin.SimpleListFilter):
    title = "video"
    parameter_name = "video"

    def lookups(self, request, model_admin):
        return [(v.id, str(v)[:60]) for v in Video.objects.order_by("-created_at")[:50]]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(faces__video_id=self.value()).distinct()
        return queryset


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["id", "cover", "__str__", "face_count", "video_count", "named_by_curator",
                    "locked", "hidden"]  # fmt: skip
    list_filter = [NamedFilter, "hidden", "locked", "named_by_curator", PersonVideoFilter]
    search_fields = ["name"]
    fields = ["name", "locked", "hidden", "cover_face", "named_by_curator"]
    readonly_fields = ["named_by_curator"]
    raw_id_fields = ["cover_face"]
    list_select_related = ["cover_face"]
    actions = ["merge_selected", "mark_different", "hide", "show", "lock", "unlock",
               "delete_people"]  # fmt: skip
    change_form_template = "admin/catalog/person/change_form.html"
    change_list_template = "admin/catalog/person/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                face_count=Count("faces", distinct=True),
                video_count=Count("faces__video", distinct=True),
            )
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deleting goes through the service
        return actions

    # People come from grouping faces; an empty one made by hand would be nobody.
    def has_add_permission(self, request) -> bool:
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("suggestions/", wrap(lambda r: admin_views.merge_suggestions_page(r, self)),
                 name="catalog_person_suggestions"),
            path("regroup-unassigned/",
                 wrap(lambda r: admin_views.regroup_unassigned_view(r, self)),
                 name="catalog_person_regroup"),
            path("undo/", wrap(lambda r: admin_views.undo_latest_view(r, self)),
                 name="catalog_person_undo"),
            path("<int:person_id>/faces/",
                 wrap(lambda r, person_id: admin_views.act_on_faces(r, self, person_id)),
                 name="catalog_person_faces"),
        ]  # fmt: skip
        return own + super().get_urls()

    @admin.display(description="cover")
    def cover(self, person: Person) -> str:
        return crop_thumbnail(person.cover_face)

    @admin.display(description="faces", ordering="face_count")
    def face_count(self, person: Person) -> int:
        return person.face_count

    @admin.display(description="videos", ordering="video_count")
    def video_count(self, person: Person) -> int:
        return person.video_count

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            faces = obj.faces.filter(is_not_face=False).select_related("video")
            context["person_faces"] = faces.order_by("video_id", "time_s")
            context["latest_action"] = latest_undoable()
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def save_model(self, request, obj: Person, form, change) -> None:
        """Every change goes through the curation service, as the API's do: the same checks,
        the same index updates, and re-clustering keeps the decision."""
        person = Person.objects.get(pk=obj.pk)
        changed, user = set(form.changed_data), request.user
        if "name" in changed:
            kept = curation.rename_person(person, obj.name, user=user, merge_if_taken=True)
            if kept.pk != person.pk:
                self.message_user(request, f"{kept} had this name already: merged into them.")
                obj.pk = kept.pk  # the redirect goes to the person who stays
                return
        if "locked" in changed:
            curation.set_person_locked(person, obj.locked, user=user)
        if "hidden" in changed:
            curation.set_person_hidden(person, obj.hidden, user=user)
        if "cover_face" in changed:
            curation.set_cover_face(person, obj.cover_face, user=user)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except curation.CurationError as error:  # shown on the page; nothing was saved
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def delete_model(self, request, obj: Person) -> None:
        curation.delete_person(obj, user=request.user)

    @admin.action(description="Merge the selected people into one (the named or largest)")
    def merge_selected(self, request, queryset):
        people = sorted(queryset, key=lambda p: (not p.named_by_curator, -p.face_count, p.id))
        admin_views.run_and_tell(
            request,
            lambda: curation.merge_people(people[0], people[1:], user=request.user),
            "Merged into {result}.",
        )

    @admin.action(description="These two are different people (never suggest merging them)")
    def mark_different(self, request, queryset):
        people = list(queryset)
        if len(people) != 2:
            self.message_user(request, "Select exactly two people.", messages.ERROR)
            return
        admin_views.run_and_tell(
            request,
            lambda: curation.mark_different_people(*people, user=request.user),
            f"{people[0]} and {people[1]} are different people.",
        )

    def _each(self, request, queryset, operation, done: str) -> None:
        for person in queryset:
            operation(person, user=request.user)
        self.message_user(request, done.format(count=len(queryset)), messages.SUCCESS)

    @admin.action(description="Hide (out of the gallery and search)")
    def hide(self, request, queryset):
        self._each(
            request, queryset, partial(curation.set_person_hidden, hidden=True), "{count} hidden."
        )

    @admin.action(description="Show again")
    def show(self, request, queryset):
        self._each(
            request, queryset, partial(curation.set_person_hidden, hidden=False), "{count} shown."
        )

    @admin.action(description="Lock (re-clustering never changes them)")
    def lock(self, request, queryset):
        self._each(
            request, queryset, partial(curation.set_person_locked, locked=True), "{count} locked."
        )

    @admin.action(description="Unlock")
    def unlock(self, request, queryset):
        self._each(
            request,
            queryset,
            partial(curation.set_person_locked, locked=False),
            "{count} unlocked.",
        )

    @admin.action(description="Delete the selected people (their faces are grouped again)")
    def delete_people(self, request, queryset):
        self._each(request, queryset, curation.delete_person, "{count} deleted.")


class UnassignedFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("no", "Unassigned (no person)"), ("yes", "In a person")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(person__isnull=True, is_not_face=False)
        if self.value() == "yes":
            return queryset.filter(person__isnull=False)
        return queryset


class QualityFilter(admin.SimpleListFilter):
    title = "quality"
    parameter_name = "quality"

    def lookups(self, request, model_admin):
        return [("low", "Below 0.3"), ("mid", "0.3 to 0.6"), ("high", "0.6 and above")]

    def queryset(self, request, queryset):
        bounds = {"low": (0, 0.3), "mid": (0.3, 0.6), "high": (0.6, 1.01)}.get(self.value())
        if bounds:
            return queryset.filter(quality__gte=bounds[0], quality__lt=bounds[1])
        return queryset


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    list_display = ["id", "thumbnail", "video", "time_s", "person", "quality", "is_not_face"]
    list_filter = [UnassignedFilter, "is_not_face", QualityFilter, "embedding_model"]
    search_fields = ["person__name", "video__title", "video__original_name"]
    list_select_related = ["video", "person"]
    raw_id_fields = ["video", "track", "person"]
    exclude = ["embedding"]
    readonly_fields = ["large_thumbnail", "person", "is_not_face"]
    actions = ["split_into_new_person", "not_this_person", "not_a_face", "a_face_after_all"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a face goes with its video, or as "not a face"
        return actions

    def get_list_filter(self, request):
        return [*self.list_filter, ("video", admin.RelatedOnlyFieldListFilter)]

    @admin.display(description="crop")
    def thumbnail(self, face: Face) -> str:
        return crop_thumbnail(face)

    @admin.display(description="crop")
    def large_thumbnail(self, face: Face) -> str:
        return crop_thumbnail(face, 160)

    def save_model(self, request, obj, form, change) -> None:
        # People and "not a face" change through the actions (the curation service) only.
        pass

    @admin.action(description="Split into a new person (with their whole tracks)")
    def split_into_new_person(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        admin_views.run_and_tell(
            request, lambda: curation.split_faces(ids, user=request.user), "A new person: {result}."
        )

    @admin.action(description="Not this person (never put back into the person they are in)")
    def not_this_person(self, request, queryset):
        by_person: dict[int, list[int]] = {}
        for face_id, person_id in queryset.exclude(person=None).values_list("id", "person_id"):
            by_person.setdefault(person_id, []).append(face_id)
        for person in Person.objects.filter(id__in=by_person):
            admin_views.run_and_tell(
                request,
                lambda p=person: curation.reject_faces(by_person[p.id], p, user=request.user),
                f"{{result}} face(s) are not {person}.",
            )

    @admin.action(description="Not a face (out of people and search, kept)")
    def not_a_face(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        admin_views.run_and_tell(
            request,
            lambda: curation.mark_not_faces(ids, user=request.user),
            "{result} crop(s) marked as not a face.",
        )

    @admin.action(description="A face after all (grouped again)")
    def a_face_after_all(self, request, queryset):
        ids = list(queryset.filter(is_not_face=True).values_list("id", flat=True))
        admin_views.run_and_tell(
            request,
            lambda: curation.restore_faces(ids, user=request.user),
            "{result} face(s) restored.",
        )


class TrackFaceInline(admin.TabularInline):
    model = Face
    fields = ["thumbnail", "time_s", "person", "quality", "is_not_face"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="crop")
    def thumbnail(self, face: Face) -> str:
        return crop_thumbnail(face)


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["id", "thumbnail", "video", "index_in_video", "start_time_s", "end_time_s"]
    list_filter = [("video", admin.RelatedOnlyFieldListFilter)]
    raw_id_fields = ["video"]
    exclude = ["detections"]
    inlines = [TrackFaceInline]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="best face")
    def thumbnail(self, track: Track) -> str:
        return crop_thumbnail(track.faces.order_by("-quality").first())


@admin.register(CurationAction)
class CurationActionAdmin(admin.ModelAdmin):
    """The log of curators' decisions; the latest one not undone can be undone."""

    list_display = ["created_at", "user", "kind", "summary", "undone_at"]
    list_filter = ["kind", ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["summary"]
    readonly_fields = ["created_at", "user", "kind", "summary", "before", "after", "undone_at",
                       "undone_by"]  # fmt: skip
    change_list_template = "admin/catalog/curationaction/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        extra = {"latest_action": latest_undoable(), **(extra_context or {})}
        return super().changelist_view(request, extra)


@admin.register(TrackRejection)
class TrackRejectionAdmin(admin.ModelAdmin):
    list_display = ["id", "track", "person", "created_at"]
    raw_id_fields = ["track", "person"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(DifferentPeople)
class DifferentPeopleAdmin(admin.ModelAdmin):
    list_display = ["id", "person_a", "person_b", "created_at"]
    raw_id_fields = ["person_a", "person_b"]

    def has_add_permission(self, request) -> bool:
        return False
