"""The embedded broker's folders: the lowest layer creates them, so health checks need not import the Celery app."""

import os

from django.conf import settings


def ensure_broker_folders() -> None:
    """kombu's filesystem transport expects its folders to exist."""
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)
