"""Refuse an oversized upload while it arrives, before it fills the disk.

Django streams a multipart upload to a temporary file whatever its size; this
handler (first in FILE_UPLOAD_HANDLERS) stops reading as soon as the body's files
pass the limit of the endpoint the request goes to (set on the request by
accounts.uploads.UploadGuardMiddleware; MEDIA_MAX_UPLOAD_BYTES otherwise): at once
when the announced length is already over it (plus room for the form fields), else
at the first chunk past it, whatever the announced length said (or if none was sent).
An API request gets 413 in the API's error shape; a form (the admin) is marked so the
page can say why.
"""

from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from accounts.uploads import is_api_request, upload_limit

# Multipart boundaries and the other form fields ride along with the file.
FORM_OVERHEAD_BYTES = 1024 * 1024


class UploadTooLarge(RequestDataTooBig):
    """Answered 413 `too_large` by the API (config.api), with this message."""


class UploadSizeLimitHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit = upload_limit(self.request)
        self.received = 0
        if content_length and content_length > self.limit + FORM_OVERHEAD_BYTES:
            self.request.upload_too_large = content_length
            if is_api_request(self.request):
                self.too_large(content_length)
            # a form: stopped at its first chunk (StopUpload is only caught once the parts are read)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit or getattr(self.request, "upload_too_large", None):
            self.too_large(max(self.received, getattr(self.request, "upload_too_large", None) or 0))
        return raw_data

    def file_complete(self, file_size):
        return None

    def too_large(self, size: int):
        self.request.upload_too_large = size
        if is_api_request(self.request):
            raise UploadTooLarge(f"The upload is larger than the largest upload allowed here; the largest allowed is "
                                 f"{self.limit} bytes (stopped after {size} bytes).")
        raise StopUpload(connection_reset=True)
