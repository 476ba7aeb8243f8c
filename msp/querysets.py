"""The one way to scope a queryset to what a user may see.

Every model that belongs to a client gets a queryset derived from ClientScopedQuerySet and
names, in `client_lookup`, the path from the model to its client. Base views and viewsets call
`.for_user(request.user)`, so no page or endpoint can forget the client boundary.
"""

from django.db import models


class ClientScopedQuerySet(models.QuerySet):
    client_lookup = "client"

    def for_user(self, user) -> "ClientScopedQuerySet":
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_msp_staff:
            return self.all()
        if user.client_id is None:
            return self.none()
        return self.filter(**{self.client_lookup: user.client_id})


class ClientQuerySet(ClientScopedQuerySet):
    client_lookup = "pk"


class UserQuerySet(ClientScopedQuerySet):
    def staff(self) -> "UserQuerySet":
        return self.filter(client__isnull=True)
