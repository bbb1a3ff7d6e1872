"""Database-level refusal to rewrite the audit log, and the chain head row.

PostgreSQL refuses UPDATE and DELETE per row (TRUNCATE stays possible for
the table owner: test isolation needs it, and the chain head exposes it);
SQLite refuses UPDATE. The hash chain is what proves integrity either way.
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION assay_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER intake_auditevent_append_only
  BEFORE UPDATE OR DELETE ON intake_auditevent
  FOR EACH ROW EXECUTE FUNCTION assay_audit_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS intake_auditevent_append_only ON intake_auditevent;
DROP FUNCTION IF EXISTS assay_audit_append_only();
"""
SQLITE_UP = """
CREATE TRIGGER intake_auditevent_no_update BEFORE UPDATE ON intake_auditevent
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS intake_auditevent_no_update;"


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)
    apps.get_model("intake", "AuditChainHead").objects.get_or_create(id=1)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
