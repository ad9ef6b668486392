"""audit events are append-only on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 20:00:00

A trigger refuses DELETE on audit_events and any UPDATE except unlinking: setting the
pupil to NULL (erasure, which may also strip the detail in the same statement) or the
member of staff to NULL (an account removed from the database). So not even a bug in
the app, or someone with the app's database login, can quietly rewrite the log.

Restore tools that must empty the table can use TRUNCATE (row triggers do not fire) or
`SET LOCAL survey.audit_maintenance = 'on'` in their transaction. SQLite has no such
guard: there the app's own rule (no route edits or deletes an entry) is all.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

UPGRADE_SQL = [
    """
    CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF coalesce(current_setting('survey.audit_maintenance', true), '') = 'on' THEN
        RETURN COALESCE(NEW, OLD);
      END IF;
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit entries cannot be deleted' USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action
         AND (NEW.staff_id IS NOT DISTINCT FROM OLD.staff_id OR NEW.staff_id IS NULL)
         AND (NEW.pupil_id IS NOT DISTINCT FROM OLD.pupil_id OR NEW.pupil_id IS NULL)
         AND (NEW.detail::text = OLD.detail::text OR (OLD.pupil_id IS NOT NULL AND NEW.pupil_id IS NULL))
      THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'audit entries cannot be changed' USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """,
]

DOWNGRADE_SQL = [
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP FUNCTION IF EXISTS audit_events_append_only()",
]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE_SQL:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DOWNGRADE_SQL:
        op.execute(statement)
