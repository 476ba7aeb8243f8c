"""Access rules shared by every page: who may open it, and which rows they may see."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied

from msp.db_router import replica_reads


class StaffRequiredMixin(LoginRequiredMixin):
    """Workspace pages: MSP staff only."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_msp_staff:
            raise PermissionDenied("This page is for MSP staff.")
        return super().dispatch(request, *args, **kwargs)


class ClientUserRequiredMixin(LoginRequiredMixin):
    """Portal pages: client users only."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_msp_staff:
            raise PermissionDenied("The client portal is for client users.")
        return super().dispatch(request, *args, **kwargs)


class ScopedQuerysetMixin:
    """Applies the user's visibility scope to the view's queryset, once, for every view."""

    def get_queryset(self):
        return super().get_queryset().for_user(self.request.user)


class RoleRequiredMixin(StaffRequiredMixin):
    """Staff pages limited to some roles (for example: only administrators edit calendars)."""

    allowed_roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and user.role not in self.allowed_roles:
            raise PermissionDenied("Your role may not make this change.")
        return super().dispatch(request, *args, **kwargs)


class ReplicaReadsMixin:
    """A read-only page whose queries may go to the read replica (msp/db_router.py)."""

    def dispatch(self, request, *args, **kwargs):
        if request.method != "GET":
            return super().dispatch(request, *args, **kwargs)
        with replica_reads():  # the views render inside: the template's queries too
            return super().dispatch(request, *args, **kwargs)
