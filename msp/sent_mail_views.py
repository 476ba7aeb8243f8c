"""The Sent mail page: administrators read the emails the embedded default wrote to files."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views import View
from django.views.generic import ListView

from msp.choices import UserRole
from msp.mixins import RoleRequiredMixin
from msp.sent_mail import (
    SentMailNotFound,
    sent_mail_enabled,
    sent_mail_files,
    sent_mail_get,
    sent_mail_read,
)


class SentMailMixin(RoleRequiredMixin):
    """Administrators only, and nothing at all (404) unless email goes to files in DEBUG."""

    allowed_roles = (UserRole.ADMIN,)

    def dispatch(self, request, *args, **kwargs):
        if not sent_mail_enabled():
            raise Http404("Email is not written to files here.")
        try:
            return super().dispatch(request, *args, **kwargs)
        except SentMailNotFound:
            raise Http404("No such message.") from None


class SentMailListView(SentMailMixin, ListView):
    """Newest first, a page of files at a time: only the files on the page are read."""

    template_name = "msp/sent_mail_list.html"
    paginate_by = 50

    def get_queryset(self):
        return sent_mail_files()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["folder"] = settings.EMAIL_FILE_PATH
        context["sent_mails"] = [
            mail for file in context["object_list"] for mail in sent_mail_read(file)
        ]
        return context


class SentMailDetailView(SentMailMixin, View):
    def get(self, request: HttpRequest, file: str, index: int) -> HttpResponse:
        mail = sent_mail_get(file=file, index=index)
        return render(request, "msp/sent_mail_detail.html", {"mail": mail})


class SentMailAttachmentView(SentMailMixin, View):
    """An attachment as a download (never shown inline: it is whatever the app attached)."""

    def get(self, request: HttpRequest, file: str, index: int, part: int) -> HttpResponse:
        attachment, content = sent_mail_get(file=file, index=index).attachment_content(part)
        response = HttpResponse(content, content_type=attachment.content_type)
        response.headers["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=attachment.filename
        )
        return response
