"""The one download response for a ticket file, shared by the workspace, the portal and the
API. Each of them first finds the file through its own permission-checked queryset; this only
decides how the bytes leave (settings.ATTACHMENT_SERVING, msp/storage.py):

- stream: the app reads the file from its storage and streams it (any storage);
- x-accel-redirect / x-sendfile: the app answers with headers only and nginx or Apache sends
  the file from local disk, so a large file does not hold a web worker;
- redirect: a signed link to the S3 object, valid ATTACHMENT_LINK_SECONDS, carrying the same
  Content-Disposition and type, so the bucket sends the bytes instead of a web worker.
"""

import re
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header

from msp import storage
from tickets.models import Attachment

# A stored content type is what the uploader's browser or mail client claimed; anything that
# is not a plain type/subtype token is sent as bytes.
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
OCTET_STREAM = "application/octet-stream"


def attachment_content_type(attachment: Attachment) -> str:
    claimed = (attachment.content_type or "").strip().lower()
    return claimed if _MEDIA_TYPE.match(claimed) else OCTET_STREAM


def attachment_response(attachment: Attachment) -> HttpResponse:
    """The file as a download, for a caller that has already checked access to it."""
    mode = settings.ATTACHMENT_SERVING
    content_type = attachment_content_type(attachment)
    # RFC 6266: a plain quoted filename when it is ASCII, filename*=utf-8''... otherwise.
    disposition = content_disposition_header(True, attachment.filename)
    name = attachment.file.name
    if mode == storage.SIGNED_REDIRECT:
        url = attachment.file.storage.url(
            name,
            parameters={
                "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type,
                "ResponseCacheControl": "private, no-store",
            },
        )
        response = HttpResponseRedirect(url)
    elif mode == storage.X_ACCEL_REDIRECT:
        response = HttpResponse(content_type=content_type)
        # nginx decodes the URI and serves it from its `internal` location's alias.
        response["X-Accel-Redirect"] = settings.ATTACHMENT_ACCEL_PREFIX + quote(name)
    elif mode == storage.X_SENDFILE:
        response = HttpResponse(content_type=content_type)
        # mod_xsendfile unescapes the value (XSendFileUnescape, on by default).
        response["X-Sendfile"] = quote(attachment.file.storage.path(name))
    else:
        try:
            opened = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404("The file is missing from storage.") from None
        response = FileResponse(opened, content_type=content_type)
    response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    # A shared cache (proxy, CDN) must never keep one client's file for another.
    patch_cache_control(response, private=True, no_store=True)
    return response
