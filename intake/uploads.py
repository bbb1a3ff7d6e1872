"""Upload size limits enforced while the request body streams in, before anything large lands on disk."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

from intake.errors import TooLarge

# Room for the multipart boundaries and the small form fields next to the file.
MULTIPART_OVERHEAD = 64 * 1024


def artifact_limit_message(limit: int) -> str:
    return f"artifact is larger than the {limit} byte limit"


class ArtifactSizeLimitHandler(FileUploadHandler):
    """First in the handler chain: refuses a body whose declared length is too large, and
    stops counting bytes of any one file past the limit (a lying or missing Content-Length)."""

    def __init__(self, request=None, *, limit: int | None = None):  # noqa: ANN001
        super().__init__(request)
        self.limit = limit if limit is not None else settings.ASSAY_MAX_ARTIFACT_BYTES
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):  # noqa: ANN001, ANN201, N803
        if content_length and content_length > self.limit + MULTIPART_OVERHEAD:
            raise TooLarge(artifact_limit_message(self.limit))
        return None

    def new_file(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        self.received = 0
        return super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):  # noqa: ANN001, ANN201
        self.received += len(raw_data)
        if self.received > self.limit:
            raise TooLarge(artifact_limit_message(self.limit))
        return raw_data

    def file_complete(self, file_size):  # noqa: ANN001, ANN201
        return None


def install_artifact_upload_handlers(request, *, limit: int | None = None) -> None:  # noqa: ANN001
    """Put the size limit in front of the configured handlers (FILE_UPLOAD_HANDLERS, which decide
    how a large upload is spooled); call before anything reads ``request.FILES``."""
    configured = [h for h in request.upload_handlers if not isinstance(h, ArtifactSizeLimitHandler)]
    request.upload_handlers = [ArtifactSizeLimitHandler(request, limit=limit), *configured]
