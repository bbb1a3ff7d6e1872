"""Chain version 2: each audit event names the key of its HMAC (empty = an unkeyed, pre-upgrade link).

Existing events keep their unkeyed hashes and still verify; the audit key file records the chain tip at
the first keyed append, and only events up to it may be unkeyed (see intake/audit.py). SQLite adds the
column by rebuilding the table, which drops the no-update trigger, so it is put back here.
"""

from django.db import migrations, models

# As in 0002 (migrations are frozen history, so the statement is repeated rather than imported).
SQLITE_UP = """
CREATE TRIGGER IF NOT EXISTS intake_auditevent_no_update BEFORE UPDATE ON intake_auditevent
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def restore_sqlite_trigger(apps, schema_editor):  # noqa: ANN001
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


class Migration(migrations.Migration):
    dependencies = [("intake", "0002_audit_append_only")]
    operations = [
        migrations.AddField(model_name="auditevent", name="key_id",
                            field=models.CharField(blank=True, default="", max_length=64)),
        migrations.RunPython(restore_sqlite_trigger, migrations.RunPython.noop),
    ]
