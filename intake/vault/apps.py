from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "intake.vault"
    label = "vault"
    verbose_name = "Confidential vault"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the retention sweep with Celery beat without owning the shared settings module.
        from assay.celery import app

        schedule = dict(app.conf.beat_schedule or {})
        schedule.setdefault("vault-shred-due", {"task": "intake.vault.tasks.shred_due", "schedule": 3600.0})
        app.conf.beat_schedule = schedule
