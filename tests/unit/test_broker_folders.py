"""The embedded broker keeps every file it writes under the data dir, never in the directory a process started in
(kombu's filesystem transport used to write ./control/*.exchange, which ended up committed)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from kombu import Connection, Exchange, Queue


def test_exchange_tables_are_written_under_the_data_dir(tmp_path, monkeypatch):  # noqa: ANN001
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert Path(options["control_folder"]).is_relative_to(settings.DATA_DIR)
    folders = {key: str(tmp_path / key) for key in ("data_folder_in", "data_folder_out", "processed_folder",
                                                    "control_folder")}
    for folder in folders.values():
        os.makedirs(folder)
    monkeypatch.chdir(tmp_path)
    with Connection("filesystem://", transport_options={**options, **folders}) as connection:
        queue = Queue("assay-test", Exchange("assay-test", type="direct"), routing_key="assay-test")
        with connection.Producer() as producer:
            producer.publish({"n": 1}, exchange=queue.exchange, routing_key="assay-test", declare=[queue])
    assert sorted(os.listdir(folders["control_folder"])) == ["assay-test.exchange"]
    assert not (tmp_path / "control").exists()
