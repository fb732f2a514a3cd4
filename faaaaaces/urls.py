from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from django.views.static import serve

from catalog.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
]
if settings.FAAAAACES_STORAGE == "local":
    # Local media (face crops) is served by Django itself; S3/MinIO serve their own URLs.
    urlpatterns.append(
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    )
