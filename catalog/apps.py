from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _keep_face_total_triggers(using, **kwargs) -> None:
    from django.db import connections

    from catalog import face_totals

    connection = connections[using]
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, "catalog_person")
    if any(column.name == "face_total" for column in columns):  # not before its migration
        face_totals.create_triggers(connection)


class CatalogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "catalog"

    def ready(self) -> None:
        # A later migration that rebuilds the face table on SQLite drops its triggers.
        post_migrate.connect(_keep_face_total_triggers, sender=self)
