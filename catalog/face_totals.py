"""Each person's number of faces, kept by the database itself: triggers on the face table add
and subtract as faces are inserted, deleted or given another person, whatever code path does it
(grouping, curation, deleting a video). The gallery sorts 10,000 people by it without counting
a million faces per page.

SQLite drops a table's triggers when Django rebuilds the table in a later migration, so they
are created again (if missing) after every `migrate`; `recount` puts the totals right from the
faces themselves.
"""

from __future__ import annotations

SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS catalog_face_total_insert AFTER INSERT ON catalog_face
    WHEN NEW.person_id IS NOT NULL BEGIN
        UPDATE catalog_person SET face_total = face_total + 1 WHERE id = NEW.person_id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS catalog_face_total_delete AFTER DELETE ON catalog_face
    WHEN OLD.person_id IS NOT NULL BEGIN
        UPDATE catalog_person SET face_total = face_total - 1 WHERE id = OLD.person_id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS catalog_face_total_update AFTER UPDATE OF person_id
    ON catalog_face WHEN OLD.person_id IS NOT NEW.person_id BEGIN
        UPDATE catalog_person SET face_total = face_total - 1 WHERE id = OLD.person_id;
        UPDATE catalog_person SET face_total = face_total + 1 WHERE id = NEW.person_id;
    END""",
]

POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION catalog_face_total() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.person_id IS NOT NULL THEN
            UPDATE catalog_person SET face_total = face_total - 1 WHERE id = OLD.person_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.person_id IS NOT NULL THEN
            UPDATE catalog_person SET face_total = face_total + 1 WHERE id = NEW.person_id;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER catalog_face_total_insert_delete AFTER INSERT OR DELETE
    ON catalog_face FOR EACH ROW EXECUTE FUNCTION catalog_face_total()""",
    """CREATE OR REPLACE TRIGGER catalog_face_total_update AFTER UPDATE OF person_id
    ON catalog_face FOR EACH ROW WHEN (OLD.person_id IS DISTINCT FROM NEW.person_id)
    EXECUTE FUNCTION catalog_face_total()""",
]

DROP_SQLITE = [
    f"DROP TRIGGER IF EXISTS catalog_face_total_{name}" for name in ("insert", "delete", "update")
]
DROP_POSTGRES = [
    "DROP TRIGGER IF EXISTS catalog_face_total_insert_delete ON catalog_face",
    "DROP TRIGGER IF EXISTS catalog_face_total_update ON catalog_face",
    "DROP FUNCTION IF EXISTS catalog_face_total()",
]

RECOUNT = """UPDATE catalog_person SET face_total = (
    SELECT COUNT(*) FROM catalog_face WHERE catalog_face.person_id = catalog_person.id)"""


def _statements(connection, sqlite: list[str], postgres: list[str]) -> list[str]:
    if connection.vendor == "sqlite":
        return sqlite
    if connection.vendor == "postgresql":
        return postgres
    raise NotImplementedError(f"face totals have no triggers for {connection.vendor}")


def create_triggers(connection) -> None:
    with connection.cursor() as cursor:
        for statement in _statements(connection, SQLITE_TRIGGERS, POSTGRES_TRIGGERS):
            cursor.execute(statement)


def drop_triggers(connection) -> None:
    with connection.cursor() as cursor:
        for statement in _statements(connection, DROP_SQLITE, DROP_POSTGRES):
            cursor.execute(statement)


def recount(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(RECOUNT)
