from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import DetailView, ListView, TemplateView

from msp import selectors, services
from msp.forms import EmailAuthenticationForm
from msp.mixins import ClientUserRequiredMixin, ScopedQuerysetMixin, StaffRequiredMixin
from msp.models import Client
from sla import selectors as sla_selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_msp_staff:
        return redirect("tickets:queue")
    return redirect("portal:home")


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
        "Too many failed sign-in attempts for this account from your address. "
        "Wait 15 minutes and try again, or reset your password.",
    )
    # A plain (already rendered) response: axes returns it from middleware, past the point
    # where Django would render a TemplateResponse.
    return render(request, "registration/login.html", {"form": form}, status=429)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = selectors.health_report(sweep_lag=sla_selectors.sweep_lag)
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


class ClientListView(StaffRequiredMixin, ListView):
    template_name = "msp/client_list.html"
    paginate_by = 50

    def get_queryset(self):
        return selectors.client_list(user=self.request.user)


class ClientDetailView(StaffRequiredMixin, ScopedQuerysetMixin, DetailView):
    model = Client
    template_name = "msp/client_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("account_manager")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(_directory_context(self.object, self.request.user))
        return context


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

    def get(self, request: HttpRequest) -> HttpResponse:
        unread = selectors.notification_unread_count(user=request.user)
        return render(request, "msp/_notification_badge.html", {"unread": unread})
