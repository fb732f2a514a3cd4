"""Filters of the jobs list."""

import django_filters

from apitools import id_filter
from ingestion.models import IngestJob


class JobFilter(django_filters.FilterSet):
    video = id_filter("video")

    class Meta:
        model = IngestJob
        fields = ["status", "kind", "video"]
