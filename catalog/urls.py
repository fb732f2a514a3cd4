from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("people/", views.gallery, name="gallery"),
    path("people/pick.json", views.people_to_pick, name="people-to-pick"),
    path("people/<id:person_id>/", views.person_detail, name="person"),
    path("people/<id:person_id>/appears-with", views.person_appears_with, name="appears-with"),
    # One view per curator's action, each through the curation service.
    path("people/<id:person_id>/rename", views.person_rename, name="person-rename"),
    path("people/<id:person_id>/hide", views.person_hide, name="person-hide"),
    path("people/<id:person_id>/merge", views.person_merge, name="person-merge"),
    path("people/<id:person_id>/move-faces", views.person_move_faces, name="person-move-faces"),
    path("people/<id:person_id>/reject-faces", views.person_reject_faces, name="person-reject"),
    path("people/<id:person_id>/not-a-face", views.person_not_a_face, name="person-not-a-face"),
    path("curation/undo", views.undo_latest, name="undo"),
    path(
        "people/<id:person_id>/appearances.<str:file_format>",
        views.person_export,
        name="person-export",
    ),
    path("videos/<id:video_id>/", views.video_detail, name="video"),
]
