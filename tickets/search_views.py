"""Search everywhere (tickets/search.py): the results page and the typeahead behind the search
box of every page, in the workspace (staff) and in the portal (a client user's own tickets).
GET only; every read is scoped by tickets/search.py through `for_user`."""

from django import forms
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from msp.mixins import ClientUserRequiredMixin, StaffRequiredMixin
from tickets.search import MAX_QUERY_LENGTH, MIN_SUGGEST_LENGTH, search_everything

RESULTS_LIMIT = 20
SUGGESTIONS_PER_KIND = 5


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=MAX_QUERY_LENGTH, required=False, strip=True)


class _Search(View):
    """The results page: a ticket's number opens the ticket, anything else lists what it
    finds, grouped by kind, best first."""

    area = ""  # "workspace" or "portal": where the page and its links belong
    ticket_url = ""

    def get(self, request):
        form = SearchForm(request.GET)
        if not form.is_valid():
            return render(request, "search/results.html", self._context(form), status=400)
        text = form.cleaned_data["q"]
        results = search_everything(
            user=request.user, text=text, limit=RESULTS_LIMIT, directory_limit=RESULTS_LIMIT
        )
        if results.jump is not None:
            return redirect(self.ticket_url, pk=results.jump.pk)
        return render(request, "search/results.html", self._context(form, results))

    def _context(self, form, results=None) -> dict:
        return {
            "form": form,
            "results": results,
            "area": self.area,
            "ticket_url": self.ticket_url,
            "search_url": reverse(f"{self.area}:search"),
            "limit": RESULTS_LIMIT,
        }


class _Suggestions(View):
    """The typeahead's options (htmx): the ticket a number names, then up to five of each
    kind. Too short or too long a query has no options (never an error: it is typing)."""

    area = ""
    ticket_url = ""

    def get(self, request):
        text = request.GET.get("q", "").strip()
        results = None
        if MIN_SUGGEST_LENGTH <= len(text) <= MAX_QUERY_LENGTH or text.isdigit():
            results = search_everything(
                user=request.user,
                text=text,
                limit=SUGGESTIONS_PER_KIND,
                directory_limit=SUGGESTIONS_PER_KIND,
            )
        context = {
            "results": results,
            "area": self.area,
            "ticket_url": self.ticket_url,
            "search_url": reverse(f"{self.area}:search"),
            "text": text,
        }
        return render(request, "search/_suggestions.html", context)


class WorkspaceSearchView(StaffRequiredMixin, _Search):
    area = "workspace"
    ticket_url = "tickets:detail"


class WorkspaceSuggestionsView(StaffRequiredMixin, _Suggestions):
    area = "workspace"
    ticket_url = "tickets:detail"


class PortalSearchView(ClientUserRequiredMixin, _Search):
    area = "portal"
    ticket_url = "portal:ticket-detail"


class PortalSuggestionsView(ClientUserRequiredMixin, _Suggestions):
    area = "portal"
    ticket_url = "portal:ticket-detail"
