from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from apitools import IdConverter
from catalog import api as catalog_api
from catalog import api_people
from faaaaaces.api_tokens import TokenView
from faaaaaces.media import serve_media
from faaaaaces.views import dashboard
from ingestion import api as ingestion_api
from search import api as search_api

register_converter(IdConverter, "id")
handler404 = "faaaaaces.views.not_found"
handler500 = "faaaaaces.views.server_error"

router = DefaultRouter(trailing_slash=True)
router.register("videos", catalog_api.VideoViewSet, basename="video")
router.register("faces", catalog_api.FaceViewSet, basename="face")
router.register("people", api_people.PersonViewSet, basename="person")
router.register("curation", api_people.CurationActionViewSet, basename="curation-action")
router.register("jobs", ingestion_api.JobViewSet, basename="job")

api_urls = [
    # The seed's endpoints, at the paths scripts already use.
    path("upload_video", ingestion_api.upload_video, name="upload-video"),
    path("process_url", ingestion_api.process_url, name="process-url"),
    path("process_urls", ingestion_api.process_urls, name="process-urls"),
    path("cluster_faces", ingestion_api.cluster_faces, name="cluster-faces"),
    path("clusters", catalog_api.ClusterListView.as_view(), name="clusters"),
    path("video_info/<id:video_id>", catalog_api.video_info, name="video-info"),
    path("job_status/<id:job_id>", ingestion_api.job_status, name="job-status"),
    path("search/", search_api.search, name="search"),
    path("token/", TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("ingestion.urls")),
    path("", include("catalog.urls")),
    path("", include("search.urls")),
    path("admin/", admin.site.urls),
    path("api/", include(api_urls)),
]
if settings.FAAAAACES_STORAGE == "local":
    # Local media (videos, face crops) to logged-in users only, with range requests for the
    # player; S3/MinIO give short-lived presigned URLs of their own.
    urlpatterns.append(re_path(r"^media/(?P<path>.+)$", serve_media, name="media"))
