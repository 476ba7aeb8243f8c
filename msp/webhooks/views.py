"""Workspace pages for outbound webhooks (administrators): endpoints, their delivery log,
secret rotation, test events, replays, and the settings that say where targets may point."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from msp.choices import UserRole
from msp.mixins import RoleRequiredMixin
from msp.models import WebhookEndpoint, WebhookSettings
from msp.webhooks import selectors, services
from msp.webhooks.forms import WebhookEndpointForm, WebhookReplayRangeForm, WebhookSettingsForm


class AdminOnly(RoleRequiredMixin):
    allowed_roles = (UserRole.ADMIN,)

    def endpoint(self, pk: int) -> WebhookEndpoint:
        return get_object_or_404(WebhookEndpoint.objects.for_user(self.request.user), pk=pk)


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"  # the page may show a secret
    return response


class WebhookListView(AdminOnly, View):
    template_name = "msp/webhooks/endpoint_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(WebhookEndpointForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = services.webhook_endpoint_create(
                    actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                return _detail(request, endpoint, new_secret=secret)
        return self._render(form, status=400)

    def _render(self, form, status: int = 200) -> HttpResponse:
        context = {
            "endpoints": selectors.webhook_endpoint_list(user=self.request.user),
            "form": form,
            "settings": WebhookSettings.current(),
        }
        return render(self.request, self.template_name, context, status=status)


def _detail(request, endpoint, *, status: int = 200, **extra) -> HttpResponse:
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "client": endpoint.client_id,
        "is_active": endpoint.is_active,
    }
    context = {
        "endpoint": endpoint,
        "deliveries": selectors.webhook_delivery_log(endpoint=endpoint),
        "form": extra.pop("form", None) or WebhookEndpointForm(initial=initial),
        "replay_form": extra.pop("replay_form", None) or WebhookReplayRangeForm(),
        **extra,
    }
    response = render(request, "msp/webhooks/endpoint_detail.html", context, status=status)
    return _no_store(response)


class WebhookDetailView(AdminOnly, View):
    """The endpoint, its delivery log; POST saves its changes."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _detail(request, self.endpoint(pk))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self.endpoint(pk)
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                services.webhook_endpoint_update(endpoint=endpoint, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Endpoint saved.")
                return redirect("workspace:webhook-detail", pk=pk)
        return _detail(request, endpoint, form=form, status=400)


class WebhookSecretView(AdminOnly, View):
    """Show the current secret (a POST, so that it is never in a link or a cache)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self.endpoint(pk)
        return _detail(request, endpoint, shown_secret=endpoint.secret)


class WebhookRotateView(AdminOnly, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        hours = request.POST.get("overlap_hours", "24")
        overlap = timedelta(hours=int(hours) if hours.isdigit() else 24)
        secret = services.webhook_secret_rotate(endpoint=self.endpoint(pk), overlap=overlap)
        return _detail(request, self.endpoint(pk), new_secret=secret)


class WebhookTestView(AdminOnly, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        delivery = services.webhook_test_send(endpoint=self.endpoint(pk), actor=request.user)
        messages.success(request, f"Test event {delivery.event_id} queued.")
        return redirect("workspace:webhook-detail", pk=pk)


class WebhookReplayView(AdminOnly, View):
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
                return _detail(request, endpoint, replay_form=form, status=400)
            try:
                count = services.webhook_replay_range(endpoint=endpoint, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
                return _detail(request, endpoint, replay_form=form, status=400)
        messages.success(request, f"{count} deliver{'y' if count == 1 else 'ies'} queued again.")
        return redirect("workspace:webhook-detail", pk=pk)


class WebhookDeleteView(AdminOnly, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = self.endpoint(pk)
        services.webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, f"Endpoint {endpoint} unsubscribed.")
        return redirect("workspace:webhook-list")


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
