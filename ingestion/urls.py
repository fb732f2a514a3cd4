from django.urls import path

from ingestion import views

app_name = "ingestion"
urlpatterns = [
    path("add/", views.add_videos, name="add"),
    path("jobs.json", views.jobs_json, name="jobs-json"),
    path("jobs/<id:job_id>/retry", views.retry, name="retry"),
    path("jobs/<id:job_id>/cancel", views.cancel, name="cancel"),
]
