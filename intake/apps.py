from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_added

        from intake.accounts.adapter import on_authenticator_added

        # allauth has no adapter hook for "TOTP was just activated"; its signal is the documented one.
        authenticator_added.connect(on_authenticator_added, dispatch_uid="assay-mfa-enrolled-marks-session")
