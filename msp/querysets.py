"""The one way to scope a queryset to what a user may see.

Every model that belongs to a client gets a queryset derived from ClientScopedQuerySet and
names, in `client_lookup`, the path from the model to its client. Base views and viewsets call
`.for_user(request.user)`, so no page or endpoint can forget the client boundary.

Who sees which clients (`visible_clients`, the rule; nowhere else):

- a client user: their own client;
- an administrator: every client;
- a technician, dispatcher or account manager: the clients of the teams they are a member or
  the lead of (every client if one of those teams serves all clients; none if they are in no
  team); an account manager also sees the clients they manage.

`User.visible_clients()` reads it once per user instance, so once per request.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.db.models import Q, Value

from msp import lookups  # noqa: F401 - registers any_of, used by VisibleClients.q
from msp.choices import UserRole
from msp.prepared import PreparedQuery


@dataclass(frozen=True)
class VisibleClients:
    """The clients a user sees: every client, or those of `ids` (perhaps none)."""

    every: bool = False
    ids: frozenset[int] = frozenset()

    def __contains__(self, client_id: object) -> bool:
        return self.every or client_id in self.ids

    def q(self, lookup: str) -> Q:
        """A filter on the client reached through `lookup` ("client", "ticket__client"...)."""
        if self.every:
            return Q()
        return Q(**{f"{lookup}__any_of": sorted(self.ids)})


NO_CLIENT = VisibleClients()
EVERY_CLIENT = VisibleClients(every=True)


def visible_clients(user) -> VisibleClients:
    """The rule (see the module's docstring). One query for staff who are not administrators;
    none otherwise. Callers go through `User.visible_clients()`, which keeps the answer."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_CLIENT
    if user.role == UserRole.CLIENT:
        return VisibleClients(ids=frozenset([user.client_id])) if user.client_id else NO_CLIENT
    if user.role == UserRole.ADMIN:
        return EVERY_CLIENT
    query = _MANAGER_SEES if user.role == UserRole.ACCOUNT_MANAGER else _STAFF_SEES
    rows = query.rows(user_id=user.pk)
    ids = set()
    for serves_all, client_id in rows:
        if serves_all:
            return EVERY_CLIENT
        if client_id is not None:
            ids.add(client_id)
    return VisibleClients(ids=frozenset(ids))


def _teams_clients(*, user_id: int):
    """(serves all clients, client id) of each client of each team the user is in or leads."""
    teams = apps.get_model("msp", "Team").objects.filter(Q(members=user_id) | Q(lead=user_id))
    return teams.values_list("serves_all_clients", "clients").order_by()


def _teams_and_managed_clients(*, user_id: int):
    managed = apps.get_model("msp", "Client").objects.filter(account_manager=user_id)
    return _teams_clients(user_id=user_id).union(
        managed.values_list(Value(False), "pk").order_by(), all=True
    )


# Every request of a staff member asks (msp.prepared: compiled once per process).
_STAFF_SEES = PreparedQuery(_teams_clients)
_MANAGER_SEES = PreparedQuery(_teams_and_managed_clients)


def _visible(user) -> VisibleClients:
    if user is None or not user.is_authenticated:
        return NO_CLIENT
    return user.visible_clients()


class ClientScopedQuerySet(models.QuerySet):
    client_lookup = "client"

    def for_user(self, user) -> "ClientScopedQuerySet":
        visible = _visible(user)
        if visible.every:
            return self.all()
        if not visible.ids:
            return self.none()
        return self.filter(visible.q(self.client_lookup))

    def is_visible(self, row, user) -> bool | None:
        """Whether `row` (of this model, already read) is in `for_user(user)`, told from its
        own columns; None where the path to its client crosses another table, or where the
        queryset has a rule of its own (ask the database)."""
        if "__" in self.client_lookup or type(self).for_user is not ClientScopedQuerySet.for_user:
            return None
        visible = _visible(user)
        if visible.every:
            return True
        if self.client_lookup == "pk":
            return row.pk in visible
        return getattr(row, self.model._meta.get_field(self.client_lookup).attname) in visible

    def sees(self, row, user) -> bool:
        """Whether `user` sees `row` (already read): from its own columns where `is_visible`
        can tell, else by asking the database."""
        visible = self.is_visible(row, user)
        if visible is None:
            visible = self.for_user(user).filter(pk=row.pk).exists()
        return visible


class ClientQuerySet(ClientScopedQuerySet):
    client_lookup = "pk"


class UserQuerySet(ClientScopedQuerySet):
    def staff(self) -> "UserQuerySet":
        return self.filter(client__isnull=True)

    def for_user(self, user) -> "UserQuerySet":
        """Client users of the visible clients; staff also see every staff member (the people
        they work with), client users none."""
        visible = _visible(user)
        if visible.every:
            return self.all()
        people = visible.q("client") if visible.ids else Q(pk__in=[])
        if user is not None and user.is_authenticated and user.is_active and user.is_msp_staff:
            people |= Q(client__isnull=True)
        return self.filter(people)

    def is_visible(self, row, user) -> bool | None:
        if row.client_id is None:  # staff: seen by staff only
            return (
                user is not None and user.is_authenticated and user.is_active and user.is_msp_staff
            )
        return row.client_id in _visible(user)

    def seeing_client(self, client_id: int) -> "UserQuerySet":
        """Active staff who see client `client_id` by the rule of `visible_clients`, read the
        other way round (the people a ticket of that client may be assigned to)."""
        team_model = apps.get_model("msp", "Team")
        serving = team_model.objects.filter(Q(serves_all_clients=True) | Q(clients=client_id))
        managing = apps.get_model("msp", "Client").objects.filter(pk=client_id)
        return self.filter(is_active=True, client__isnull=True).filter(
            Q(role=UserRole.ADMIN)
            | Q(pk__in=serving.values("members"))
            | Q(pk__in=serving.values("lead"))
            | Q(role=UserRole.ACCOUNT_MANAGER, pk__in=managing.values("account_manager"))
        )

    def seeing_clients(self, client_ids) -> dict[int, frozenset[int]]:
        """`seeing_client` for several clients at once: the ids of the staff who see each, in
        four queries however many clients (the timer sweep acts on many in one batch)."""
        team_model = apps.get_model("msp", "Team")
        client_model = apps.get_model("msp", "Client")
        client_ids = set(client_ids)
        staff = dict(self.filter(is_active=True, client__isnull=True).values_list("pk", "role"))
        everyone = {pk for pk, role in staff.items() if role == UserRole.ADMIN}
        for member, lead in team_model.objects.filter(serves_all_clients=True).values_list(
            "members", "lead"
        ):
            everyone.update((member, lead))
        seeing = {client_id: set(everyone) for client_id in client_ids}
        served = team_model.clients.through.objects.filter(client_id__in=client_ids)
        for client_id, member, lead in served.values_list(
            "client_id", "team__members", "team__lead"
        ):
            seeing[client_id].update((member, lead))
        managed = client_model.objects.filter(pk__in=client_ids, account_manager__isnull=False)
        for client_id, manager in managed.values_list("pk", "account_manager"):
            if staff.get(manager) == UserRole.ACCOUNT_MANAGER:
                seeing[client_id].add(manager)
        return {client_id: frozenset(seeing[client_id] & staff.keys()) for client_id in seeing}
