"""Files on a ticket, on a comment or on their own."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from msp.models import User
from msp.text import file_extension, file_name
from tickets.choices import EventKind
from tickets.models import Attachment, Comment, Ticket
from tickets.services.write import TicketWrite


def attach(write: TicketWrite, upload: UploadedFile, comment: Comment | None = None) -> Attachment:
    """A file by the write's actor (None: from an email), checked for size and type."""
    name = file_name(upload.name)
    extension = file_extension(name)
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            {"attachments": f"{name} is larger than {settings.ATTACHMENT_MAX_BYTES // 2**20} MB."}
        )
    if extension in settings.ATTACHMENT_BLOCKED_EXTENSIONS:
        raise ValidationError({"attachments": f"{name}: .{extension} files are not accepted."})
    attachment = Attachment(
        ticket=write.ticket,
        comment=comment,
        filename=name,
        content_type=getattr(upload, "content_type", "") or "application/octet-stream",
        size=upload.size,
        uploaded_by=write.actor,
        created_at=write.at,
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    write.event(EventKind.ATTACHMENT, new_value=name[:200])
    return attachment


@transaction.atomic
def attachment_add(
    *, ticket: Ticket, upload: UploadedFile, user: User | None, at=None
) -> Attachment:
    """A file on a ticket, from a user or (user None) from an email."""
    write = TicketWrite.begin(ticket, user, at)
    if user is not None and not user.is_msp_staff and user.client_id != write.ticket.client_id:
        raise ValidationError("You may not add files to this ticket.")
    return attach(write, upload)
