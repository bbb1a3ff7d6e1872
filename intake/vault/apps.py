from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "intake.vault"
    label = "vault"
    verbose_name = "Confidential vault"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the retention sweep with Celery beat without owning the shared settings module.
        from celery import current_app as app  # the project's app, made current by assay/__init__

        schedule = dict(app.conf.beat_schedule or {})
        schedule.setdefault("vault-shred-due", {"task": "intake.vault.tasks.shred_due", "schedule": 3600.0})
        app.conf.beat_schedule = schedule

        from django.apps import apps

        from intake.vault.disputes import dispute_evidence_keys
        from intake.vault.shredding import register_case_vault_keys

        # A claimant's dispute evidence is vaulted under their case: shredding the case destroys it too.
        register_case_vault_keys(dispute_evidence_keys)
        if apps.is_installed("triage"):
            try:
                apps.get_model("triage", "DynamicRun")
            except LookupError:
                return
            # Triage's dynamic-stage records are vaulted per case: shredding the case destroys them too.
            register_case_vault_keys(_dynamic_run_keys)


def _dynamic_run_keys(submission) -> list[str]:  # noqa: ANN001
    from django.apps import apps

    model = apps.get_model("triage", "DynamicRun")
    return list(model.objects.filter(submission=submission).exclude(record_key="")
                .values_list("record_key", flat=True))
