"""Refuse an oversized upload while it arrives, before it fills the disk.

Django streams a multipart upload to a temporary file whatever its size; this
handler (first in FILE_UPLOAD_HANDLERS) looks at the announced length and stops
reading at the first chunk of a body over `MEDIA_MAX_UPLOAD_BYTES` (plus room for
the form fields). The request is marked so the API can answer 413.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

# Multipart boundaries and the other form fields ride along with the file.
FORM_OVERHEAD_BYTES = 1024 * 1024


class UploadSizeLimitHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        limit = settings.MEDIA_MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES
        if self.request is not None and content_length and content_length > limit:
            self.request.upload_too_large = content_length

    def receive_data_chunk(self, raw_data, start):
        if getattr(self.request, "upload_too_large", None):
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
