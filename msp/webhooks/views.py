"""Pages for outbound webhooks: in the workspace for administrators (every endpoint, and the
settings that say where targets may point), and in the portal for client users when the MSP
lets clients subscribe (their client's own endpoints). The same views serve both; an access
class says who, which endpoints (`for_user`), which form and which URL namespace."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from msp.choices import UserRole
from msp.mixins import ClientUserRequiredMixin, RoleRequiredMixin
from msp.models import WebhookEndpoint, WebhookSettings
from msp.webhooks import selectors, services
from msp.webhooks.forms import (
    ClientWebhookEndpointForm,
    WebhookEndpointForm,
    WebhookReplayRangeForm,
    WebhookSettingsForm,
)


class AdminOnly(RoleRequiredMixin):
    """Workspace pages: administrators, every endpoint."""

    allowed_roles = (UserRole.ADMIN,)
    ns = "workspace:"
    form_class: type = WebhookEndpointForm
    base_template = "workspace/base.html"


class ClientOwnerOnly(ClientUserRequiredMixin):
    """Portal pages: a client user's own client's endpoints, if the MSP lets clients
    subscribe (otherwise the pages do not exist)."""

    ns = "portal:"
    form_class: type = ClientWebhookEndpointForm
    base_template = "portal/base.html"

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        client_user = user.is_authenticated and not user.is_msp_staff
        if client_user and not WebhookSettings.current().clients_may_subscribe:
            raise Http404("Webhooks are not offered to clients.")
        return super().dispatch(request, *args, **kwargs)


class Pages(View):
    ns: str
    form_class: type
    base_template: str

    def endpoint(self, pk: int) -> WebhookEndpoint:
        return get_object_or_404(WebhookEndpoint.objects.for_user(self.request.user), pk=pk)

    def context(self, **extra) -> dict:
        return {"ns": self.ns, "base_template": self.base_template, **extra}

    def detail(self, endpoint: WebhookEndpoint, *, status: int = 200, **extra) -> HttpResponse:
        initial = {
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
            "client": endpoint.client_id,
            "is_active": endpoint.is_active,
        }
        context = self.context(
            endpoint=endpoint,
            deliveries=selectors.webhook_delivery_log(endpoint=endpoint),
            form=extra.pop("form", None) or self.form_class(initial=initial),
            replay_form=extra.pop("replay_form", None) or WebhookReplayRangeForm(),
            **extra,
        )
        response = render(self.request, "msp/webhooks/endpoint_detail.html", context, status=status)
        response["Cache-Control"] = "no-store"  # the page may show a secret
        return response

    def back(self, name: str, **kwargs) -> HttpResponse:
        return redirect(self.ns + name, **kwargs)


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class ListPage(Pages):
    """The endpoints; POST subscribes a new one (its secret shown on the page it lands on)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(self.form_class())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = services.webhook_endpoint_create(
                    actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                return self.detail(endpoint, new_secret=secret)
        return self._render(form, status=400)

    def _render(self, form, status: int = 200) -> HttpResponse:
        context = self.context(
            endpoints=selectors.webhook_endpoint_list(user=self.request.user),
            form=form,
            settings=WebhookSettings.current(),
        )
        return render(self.request, "msp/webhooks/endpoint_list.html", context, status=status)


class DetailPage(Pages):
    """The endpoint and its delivery log; POST saves its changes."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.detail(self.endpoint(pk))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self.endpoint(pk)
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                services.webhook_endpoint_update(endpoint=endpoint, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Endpoint saved.")
                return self.back("webhook-detail", pk=pk)
        return self.detail(endpoint, form=form, status=400)


class SecretPage(Pages):
    """Show the current secret (a POST, so that it is never in a link or a cache)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self.endpoint(pk)
        return self.detail(endpoint, shown_secret=endpoint.secret)


class RotatePage(Pages):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        hours = request.POST.get("overlap_hours", "24")
        overlap = timedelta(hours=min(int(hours), 24 * 14) if hours.isdigit() else 24)
        secret = services.webhook_secret_rotate(endpoint=self.endpoint(pk), overlap=overlap)
        return self.detail(self.endpoint(pk), new_secret=secret)


class TestPage(Pages):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        delivery = services.webhook_test_send(endpoint=self.endpoint(pk), actor=request.user)
        messages.success(request, f"Test event {delivery.event_id} queued.")
        return self.back("webhook-detail", pk=pk)


class ReplayPage(Pages):
    """Replay one delivery, or the deliveries of a time range."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self.endpoint(pk)
        if "delivery" in request.POST:
            delivery_id = request.POST["delivery"]
            deliveries = endpoint.deliveries.filter(
                pk=int(delivery_id) if delivery_id.isdigit() else 0
            )
            count = services.webhook_replay(deliveries=deliveries)
        else:
            form = WebhookReplayRangeForm(request.POST)
            if not form.is_valid():
                return self.detail(endpoint, replay_form=form, status=400)
            try:
                count = services.webhook_replay_range(endpoint=endpoint, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
                return self.detail(endpoint, replay_form=form, status=400)
        messages.success(request, f"{count} deliver{'y' if count == 1 else 'ies'} queued again.")
        return self.back("webhook-detail", pk=pk)


class DeletePage(Pages):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self.endpoint(pk)
        services.webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, f"Endpoint {endpoint} unsubscribed.")
        return self.back("webhook-list")


class WebhookSettingsView(AdminOnly, View):
    template_name = "msp/webhooks/settings.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        current = WebhookSettings.current()
        form = WebhookSettingsForm(
            initial={
                "allowed_networks": current.allowed_networks,
                "allow_http": current.allow_http,
                "clients_may_subscribe": current.clients_may_subscribe,
            }
        )
        return render(request, self.template_name, {"form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = WebhookSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.webhook_settings_save(**form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Webhook settings saved.")
                return redirect("workspace:webhook-list")
        return render(request, self.template_name, {"form": form}, status=400)


PAGES = {
    "webhook-list": ("webhooks/", ListPage),
    "webhook-detail": ("webhooks/<int:pk>/", DetailPage),
    "webhook-secret": ("webhooks/<int:pk>/secret/", SecretPage),
    "webhook-rotate": ("webhooks/<int:pk>/rotate/", RotatePage),
    "webhook-test": ("webhooks/<int:pk>/test/", TestPage),
    "webhook-replay": ("webhooks/<int:pk>/replay/", ReplayPage),
    "webhook-delete": ("webhooks/<int:pk>/delete/", DeletePage),
}


def pages_for(access: type) -> dict[str, tuple[str, type]]:
    """Each page as a view class behind `access` (AdminOnly or ClientOwnerOnly)."""
    return {
        name: (route, type(f"{access.__name__}{page.__name__}", (access, page), {}))
        for name, (route, page) in PAGES.items()
    }
