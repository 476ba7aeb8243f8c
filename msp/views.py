import sys
from collections.abc import Callable
from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from msp import outage, selectors, services
from msp.choices import UserRole
from msp.forms import ApiTokenForm, ClientTeamsForm, EmailAuthenticationForm
from msp.mixins import (
    ClientUserRequiredMixin,
    RoleRequiredMixin,
    StaffRequiredMixin,
)
from msp.models import Client

HOME_QUEUES = {UserRole.TECHNICIAN: "mine", UserRole.DISPATCHER: "unassigned"}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_msp_staff:
        # Each lands on the queue of their job (tickets.selectors.Queue's keys): a technician
        # on their own tickets, a dispatcher on the tickets nobody has yet, others on all open.
        queue = HOME_QUEUES.get(request.user.role)
        url = reverse("tickets:queue")
        return redirect(f"{url}?queue={queue}" if queue else url)
    # A client lands on what it comes for: its service levels and its open tickets.
    return redirect("portal:sla-dashboard")


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True


def login_locked_out(request: HttpRequest, credentials: dict | None = None, *args, **kwargs):
    """Shown by django-axes instead of the login result once a login is throttled."""
    form = EmailAuthenticationForm(request, data=request.POST or None)
    form.is_valid()
    form.errors.clear()
    form.add_error(
        None,
        "Too many failed sign-in attempts for this account, or from your address. "
        "Wait 15 minutes and try again, or reset your password.",
    )
    # A plain (already rendered) response: axes returns it from middleware, past the point
    # where Django would render a TemplateResponse.
    return render(request, "registration/login.html", {"form": form}, status=429)


@never_cache
@require_GET
def healthz(request: HttpRequest, sweep_lag: Callable[..., dict] | None = None) -> JsonResponse:
    """The health report; sweep_lag, the SLA side's figure, is given by the URLconf."""
    report = selectors.health_report(sweep_lag=sweep_lag)
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


class ClientTeamsView(RoleRequiredMixin, View):
    """An administrator assigns the teams that serve a client."""

    allowed_roles = (UserRole.ADMIN,)

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        client = get_object_or_404(Client.objects.for_user(request.user), slug=slug)
        form = ClientTeamsForm(request.POST)
        if not form.is_valid():
            # The client page (reporting/client_views.py) draws the form; only a team that no
            # longer exists can be refused here.
            messages.error(request, "Teams not saved: a chosen team no longer exists.")
            return redirect("workspace:client-detail", slug=client.slug)
        services.client_teams_set(client=client, teams=list(form.cleaned_data["teams"]))
        messages.success(request, f"Teams serving {client.name} saved.")
        return redirect("workspace:client-detail", slug=client.slug)


class PortalHomeView(ClientUserRequiredMixin, TemplateView):
    template_name = "portal/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        client = get_object_or_404(Client.objects.for_user(self.request.user))
        context["client"] = client
        context.update(_directory_context(client, self.request.user))
        return context


def _directory_context(client: Client, user) -> dict:
    return {
        "sites": selectors.client_sites(client=client, user=user),
        "contacts": selectors.client_contacts(client=client, user=user),
        "assets": selectors.client_assets(client=client, user=user),
    }


class NotificationListView(StaffRequiredMixin, View):
    template_name = "msp/notification_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        notifications = selectors.notification_list(user=request.user)[:100]
        return render(request, self.template_name, {"notifications": notifications})

    def post(self, request: HttpRequest) -> HttpResponse:
        services.notifications_mark_read(user=request.user)
        return redirect("workspace:notification-list")


class NotificationBadgeView(StaffRequiredMixin, View):
    """htmx: the unread count in the navigation, polled instead of queried on every page."""

    session_passive = True  # a background poll: not activity that keeps a session alive

    def get(self, request: HttpRequest) -> HttpResponse:
        unread = selectors.notification_unread_count(user=request.user)
        return render(request, "msp/_notification_badge.html", {"unread": unread})


class ApiTokenView(LoginRequiredMixin, View):
    """Each user manages their own API tokens: make one (its secret shown once), revoke."""

    template_name = "msp/api_tokens.html"

    def get(self, request):
        return self._render(ApiTokenForm())

    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self._render(form, status=400)
        expires_on = form.cleaned_data["expires_on"]
        token, secret = services.api_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=timezone.make_aware(datetime.combine(expires_on, time.min))
            if expires_on
            else None,
        )
        return self._render(ApiTokenForm(), new_secret=secret, new_token=token)

    def _render(self, form, status=200, **extra):
        tokens = self.request.user.api_tokens.order_by("-created_at")
        context = {"form": form, "tokens": tokens, "now": timezone.now(), **extra}
        response = render(self.request, self.template_name, context, status=status)
        response["Cache-Control"] = "no-store"  # the page may hold a secret shown once
        return response


class ApiTokenRevokeView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        token = get_object_or_404(request.user.api_tokens, pk=pk)
        services.api_token_revoke(token=token)
        messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("api-tokens")


class SignOutEverywhereView(LoginRequiredMixin, View):
    """The user ends all their other sessions and revokes all their API tokens; this session
    goes on."""

    def post(self, request):
        revoked = services.user_sign_out_everywhere(user=request.user)
        update_session_auth_hash(request, request.user)
        messages.success(request, f"Signed out everywhere else; {revoked} API token(s) revoked.")
        return redirect("api-tokens")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """404: JSON in the error shape under /api/, the HTML page elsewhere."""
    if _is_api(request):
        return JsonResponse({"message": "Not found.", "errors": {}}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500, or 503 while the database is unreachable. Rendered without the request's context:
    its processors would query the database that may have just failed."""
    exc = sys.exc_info()[1]
    if outage.is_database_outage(exc):
        return outage.outage_response(request, exc, api=_is_api(request))
    if _is_api(request):
        return JsonResponse(
            {"message": "Server error; it has been logged.", "errors": {}}, status=500
        )
    return HttpResponse(render_to_string("500.html"), status=500)
