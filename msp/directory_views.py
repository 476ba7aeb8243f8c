"""The directory in the workspace: clients, sites, contacts, assets, people and teams. Lists
with search, create and edit forms, deactivation. Every write calls the service the API calls
(msp.services); every lookup goes through `for_user`, so a row of a client the user does not
see is a 404 and never a choice in a form.

Who may change what (README, "Directory and configuration"): administrators everything;
dispatchers clients, sites, contacts and assets; other staff read. People and teams are
changed by administrators only (a role or a team decides what someone sees)."""

from functools import reduce
from operator import or_

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import ListView

from msp import selectors, services
from msp.choices import ClientStatus, UserRole
from msp.forms import AssetForm, ClientForm, ContactForm, PersonForm, SiteForm, TeamForm
from msp.mixins import RoleRequiredMixin, StaffRequiredMixin
from msp.models import Asset, Client, Contact, Site, Team, User
from msp.querysets import visible_clients

DIRECTORY_EDITORS = (UserRole.ADMIN, UserRole.DISPATCHER)
ADMINISTRATORS = (UserRole.ADMIN,)
PAGE_SIZE = 50


# (kind, label, URL name, roles that see the tab) of the directory's tabs; the priority matrix
# and mailboxes are tickets' pages, named here by URL only.
STAFF = (UserRole.ADMIN, UserRole.DISPATCHER, UserRole.TECHNICIAN, UserRole.ACCOUNT_MANAGER)
DIRECTORY_TABS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("clients", "Clients", "workspace:client-list", STAFF),
    ("sites", "Sites", "workspace:site-list", STAFF),
    ("contacts", "Contacts", "workspace:contact-list", STAFF),
    ("assets", "Assets", "workspace:asset-list", STAFF),
    ("people", "People", "workspace:person-list", STAFF),
    ("teams", "Teams", "workspace:team-list", STAFF),
    ("priority-matrix", "Priority matrix", "workspace:priority-matrix", STAFF),
    ("mailboxes", "Mailboxes", "workspace:mailbox-list", (UserRole.ADMIN,)),
]


def directory_tabs(user) -> list[tuple[str, str, str]]:
    return [
        (kind, label, name) for kind, label, name, roles in DIRECTORY_TABS if user.role in roles
    ]


def add_service_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError on the form: on its field when the form has it, else
    above the form, so that the page shows it (never a 500)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class DirectoryListView(StaffRequiredMixin, ListView):
    """A searchable list (?q=) of one kind of directory row; active rows by default,
    ?show=all for every row. Its queries are the same whatever the page size."""

    paginate_by = PAGE_SIZE
    search_fields: tuple[str, ...] = ()
    active_filter: Q | None = Q(is_active=True)
    editor_roles = DIRECTORY_EDITORS
    kind = ""

    def rows(self):
        raise NotImplementedError

    def get_queryset(self):
        rows = self.rows()
        query = self.request.GET.get("q", "").strip()
        if query and self.search_fields:
            rows = rows.filter(
                reduce(or_, (Q(**{f"{name}__icontains": query}) for name in self.search_fields))
            )
        if self.active_filter is not None and self.request.GET.get("show") != "all":
            rows = rows.filter(self.active_filter)
        return rows

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            kind=self.kind,
            query=self.request.GET.get("q", ""),
            show_all=self.request.GET.get("show") == "all",
            has_active_filter=self.active_filter is not None,
            can_edit=self.request.user.role in self.editor_roles,
            directory_tabs=directory_tabs(self.request.user),
        )
        return context


class ClientListView(DirectoryListView):
    template_name = "msp/client_list.html"
    kind = "clients"
    search_fields = ("name", "slug", "email_domains")
    active_filter = ~Q(status=ClientStatus.INACTIVE)

    def rows(self):
        return selectors.client_list(user=self.request.user)


class SiteListView(DirectoryListView):
    template_name = "msp/directory/site_list.html"
    kind = "sites"
    search_fields = ("name", "address", "client__name")
    active_filter = None  # a site has no status: it is renamed or moved, not deactivated

    def rows(self):
        return (
            Site.objects.for_user(self.request.user)
            .select_related("client")
            .order_by("client__name", "name")
        )


class ContactListView(DirectoryListView):
    template_name = "msp/directory/contact_list.html"
    kind = "contacts"
    search_fields = ("full_name", "email", "phone", "job_title", "client__name")

    def rows(self):
        return (
            Contact.objects.for_user(self.request.user)
            .select_related("client", "site")
            .order_by("full_name", "pk")
        )


class AssetListView(DirectoryListView):
    template_name = "msp/directory/asset_list.html"
    kind = "assets"
    search_fields = ("name", "hostname", "serial_number", "rmm_id", "client__name")

    def rows(self):
        return (
            Asset.objects.for_user(self.request.user)
            .select_related("client", "site")
            .order_by("name", "pk")
        )


class PersonListView(DirectoryListView):
    """Staff, and the client users of the clients the reader sees."""

    template_name = "msp/directory/person_list.html"
    kind = "people"
    search_fields = ("full_name", "email", "client__name")
    editor_roles = ADMINISTRATORS

    def rows(self):
        teams = Team.objects.order_by("name").only("pk", "name")
        return (
            User.objects.for_user(self.request.user)
            .select_related("client")
            .prefetch_related(Prefetch("teams", queryset=teams))
            .order_by("full_name", "pk")
        )


class TeamListView(DirectoryListView):
    template_name = "msp/directory/team_list.html"
    kind = "teams"
    search_fields = ("name", "email")
    active_filter = None
    editor_roles = ADMINISTRATORS

    def rows(self):
        # The clients a team serves are named only as far as the reader sees them.
        visible = Client.objects.for_user(self.request.user).order_by("name").only("pk", "name")
        return (
            Team.objects.select_related("lead")
            .annotate(member_count=Count("members", distinct=True))
            .prefetch_related(Prefetch("clients", queryset=visible))
            .order_by("name")
        )


class DirectoryEditView(RoleRequiredMixin, View):
    """Create (no key in the URL) or edit one row through its services."""

    allowed_roles = DIRECTORY_EDITORS
    template_name = "msp/directory/form.html"
    model: type = None
    form_class: type[ModelForm] = None
    kind = ""
    lookup = "pk"
    noun = ""

    def rows(self):
        return self.model.objects.for_user(self.request.user)

    def get_object(self):
        if self.lookup not in self.kwargs:
            return None
        return get_object_or_404(self.rows(), **{self.lookup: self.kwargs[self.lookup]})

    def create(self, form):
        raise NotImplementedError

    def update(self, row, form):
        raise NotImplementedError

    def done_url(self, row) -> str:
        return reverse(f"workspace:{self.noun}-edit", args=[getattr(row, self.lookup)])

    def after_save(self, row) -> None:
        """A warning about what was saved, if any."""

    def get(self, request: HttpRequest, **kwargs) -> HttpResponse:
        row = self.get_object()
        initial = {"client": request.GET.get("client")} if row is None else {}
        return self._render(row, self.form_class(instance=row, initial=initial, user=request.user))

    def post(self, request: HttpRequest, **kwargs) -> HttpResponse:
        row = self.get_object()
        # The form checks its own copy: an invalid edit must not rename the row shown around it
        # (its title, the links to deactivate it).
        form = self.form_class(request.POST, instance=self.get_object(), user=request.user)
        if form.is_valid():
            try:
                saved = self.create(form) if row is None else self.update(row, form)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{saved} saved.")
                self.after_save(saved)
                return redirect(self.done_url(saved))
        return self._render(row, form, status=400)

    def _render(self, row, form, status: int = 200) -> HttpResponse:
        context = {
            "row": row,
            "form": form,
            "kind": self.kind,
            "noun": self.noun,
            "title": f"Edit {row}" if row is not None else f"New {self.noun.replace('-', ' ')}",
            "active": _is_active(row) if row is not None else None,
            "can_deactivate": row is not None and self.deactivatable,
            "lookup_value": getattr(row, self.lookup) if row is not None else None,
            "directory_tabs": directory_tabs(self.request.user),
        }
        return render(self.request, self.template_name, context, status=status)

    deactivatable = True


def _is_active(row) -> bool:
    if isinstance(row, Client):
        return row.status != ClientStatus.INACTIVE
    return getattr(row, "is_active", True)


class ClientEditView(DirectoryEditView):
    model = Client
    form_class = ClientForm
    kind = "clients"
    noun = "client"
    lookup = "slug"

    def create(self, form):
        return services.client_create(by=self.request.user, **form.service_fields())

    def update(self, row, form):
        return services.client_update(client=row, **form.service_fields())

    def done_url(self, row) -> str:
        # Read again (the request's user keeps the clients it saw before this client was made).
        if row.pk not in visible_clients(self.request.user):
            # Made by someone in no team narrowed to clients: an administrator assigns teams.
            messages.info(
                self.request, "No team of yours serves it: an administrator assigns its teams."
            )
            return reverse("workspace:client-list")
        return reverse("workspace:client-detail", args=[row.slug])


class SiteEditView(DirectoryEditView):
    model = Site
    form_class = SiteForm
    kind = "sites"
    noun = "site"
    deactivatable = False

    def create(self, form):
        return services.site_create(**form.service_fields())

    def update(self, row, form):
        return services.site_update(site=row, **form.service_fields())


class ContactEditView(DirectoryEditView):
    model = Contact
    form_class = ContactForm
    kind = "contacts"
    noun = "contact"

    def create(self, form):
        return services.contact_create(**form.service_fields())

    def update(self, row, form):
        return services.contact_update(contact=row, by=self.request.user, **form.service_fields())


class AssetEditView(DirectoryEditView):
    model = Asset
    form_class = AssetForm
    kind = "assets"
    noun = "asset"

    def create(self, form):
        return services.asset_create(**form.service_fields())

    def update(self, row, form):
        return services.asset_update(asset=row, **form.service_fields())


class PersonEditView(DirectoryEditView):
    """An administrator invites a person (emailed a link to choose a password) or changes
    their details, role, tier, client and teams."""

    allowed_roles = ADMINISTRATORS
    model = User
    form_class = PersonForm
    kind = "people"
    noun = "person"

    def create(self, form):
        fields = form.service_fields()
        return services.user_invite(by=self.request.user, **fields)

    def update(self, row, form):
        return services.user_update(user=row, by=self.request.user, **form.service_fields())


class TeamEditView(DirectoryEditView):
    allowed_roles = ADMINISTRATORS
    model = Team
    form_class = TeamForm
    kind = "teams"
    noun = "team"
    deactivatable = False

    def rows(self):
        return Team.objects.all()

    def create(self, form):
        return services.team_create(**form.service_fields())

    def update(self, row, form):
        return services.team_update(team=row, **form.service_fields())

    def after_save(self, row) -> None:
        if not row.serves_all_clients and not row.clients.exists():
            messages.warning(
                self.request,
                f"{row.name} serves no client: its members see no client's data until you "
                "choose its clients or tick “Serves all clients”.",
            )


class DirectoryActiveView(RoleRequiredMixin, View):
    """Deactivate (or reactivate) a row: POST only, through the row's update service. Rows
    are never deleted: their tickets, contracts and reports point at them."""

    allowed_roles = DIRECTORY_EDITORS
    edit_view: type[DirectoryEditView] = None
    active = False

    def change(self, row, *, active: bool):
        raise NotImplementedError

    def post(self, request: HttpRequest, **kwargs) -> HttpResponse:
        editor = self.edit_view(request=request, kwargs=kwargs)
        row = editor.get_object()
        try:
            saved = self.change(row, active=self.active)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(editor.done_url(row))
        verb = "reactivated" if self.active else "deactivated"
        messages.success(request, f"{saved} {verb}.")
        return redirect(editor.done_url(saved))


class ClientActiveView(DirectoryActiveView):
    edit_view = ClientEditView

    def change(self, row, *, active):
        status = ClientStatus.ACTIVE if active else ClientStatus.INACTIVE
        return services.client_update(client=row, status=status)


class ContactActiveView(DirectoryActiveView):
    edit_view = ContactEditView

    def change(self, row, *, active):
        return services.contact_update(contact=row, by=self.request.user, is_active=active)


class AssetActiveView(DirectoryActiveView):
    edit_view = AssetEditView

    def change(self, row, *, active):
        return services.asset_update(asset=row, is_active=active)


class PersonActiveView(DirectoryActiveView):
    allowed_roles = ADMINISTRATORS
    edit_view = PersonEditView

    def change(self, row, *, active):
        return services.user_update(user=row, by=self.request.user, is_active=active)
