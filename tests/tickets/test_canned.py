"""Canned responses: placeholders filled safely, who sees and keeps which, the pages and API."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from msp.choices import Tier, UserRole
from tests.factories import StaffFactory
from tests.helpers import signed_in
from tickets import canned, services
from tickets.models import CannedResponse, Comment
from tickets.rendering import markdown_to_safe_html

pytestmark = pytest.mark.django_db


def fill(body, ticket, user):
    return canned.canned_fill(body=body, ticket=ticket, user=user)


class TestPlaceholders:
    def test_documented_placeholders_are_filled(self, p1, teams):
        p1.contact.full_name = "Paula Smith"
        p1.contact.save()
        me = p1.assignee
        filled = fill(
            "Hi {{contact.first_name}} ({{ contact.name }}), ticket {{ticket.number}} "
            "for {{client.name}}: due {{sla.due}}. {{me.first_name}}",
            p1,
            me,
        )
        p1.refresh_from_db()
        zone = p1.client.timezone
        # A naive reference: the deadline in the client's zone, written the documented way.
        from zoneinfo import ZoneInfo

        due = p1.sla_due_at.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M ") + zone
        expected = (
            f"Hi Paula (Paula Smith), ticket \\#{p1.pk} for "
            f"{canned.markdown_literal(p1.client.name)}: "
            f"due {canned.markdown_literal(due)}. {me.full_name.split(' ')[0]}"
        )
        assert filled.text == expected and filled.unknown == ()

    def test_every_documented_placeholder_is_in_the_module_docstring(self):
        for name in canned.PLACEHOLDERS:
            assert "{{" + name + "}}" in canned.__doc__

    def test_unknown_placeholders_are_left_visible_and_flagged(self, p1, teams):
        filled = fill(
            "Dear {{contact.nickname}}, {{ foo }} and {{contact.nickname}}", p1, p1.assignee
        )
        assert filled.text == "Dear {{contact.nickname}}, {{ foo }} and {{contact.nickname}}"
        assert filled.unknown == ("contact.nickname", "foo")

    def test_html_in_a_contact_name_stays_text(self, p1, teams):
        p1.contact.full_name = (
            "<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))"
        )
        p1.contact.save()
        filled = fill("Hello {{contact.name}}", p1, p1.assignee)
        # Markdown punctuation escaped: nothing of the name can become markup or a link ...
        assert (
            "\\<script\\>" in filled.text and "\\[x\\]\\(javascript:alert\\(3\\)\\)" in filled.text
        )
        html = markdown_to_safe_html(filled.text)
        # ... and the stored rendering (the same sanitiser as every reply) has no script.
        assert "<script" not in html and "onerror" not in html.replace("onerror=alert", "")
        assert "<img" not in html and 'href="javascript' not in html

    def test_a_name_on_two_lines_is_put_on_one(self, p1, teams):
        p1.contact.full_name = "Paula\n# Heading"
        p1.contact.save()
        assert fill("{{contact.name}}", p1, p1.assignee).text == "Paula \\# Heading"

    def test_no_contact_and_no_deadline(self, client_a, policy, technician):
        ticket = services.ticket_open(client=client_a, subject="x")
        ticket.sla_due_at = None
        assert fill("[{{contact.name}}] {{sla.due}}", ticket, technician).text == (
            "[] no SLA deadline running"
        )


class TestScope:
    def test_own_and_shared_visible_others_own_invisible(self, technician, dispatcher):
        mine = CannedResponse.objects.create(owner=technician, title="Mine", body="a")
        shared = CannedResponse.objects.create(owner=None, title="Shared", body="b")
        CannedResponse.objects.create(owner=dispatcher, title="Theirs", body="c")
        assert set(canned.canned_for_user(technician)) == {mine, shared}

    def test_client_users_see_none(self, client_user_a):
        CannedResponse.objects.create(owner=None, title="Shared", body="b")
        assert list(canned.canned_for_user(client_user_a)) == []

    def test_only_admin_and_dispatcher_keep_shared(self, technician, dispatcher, admin_user):
        shared = CannedResponse.objects.create(owner=None, title="Shared", body="b")
        with pytest.raises(PermissionDenied):
            canned.canned_response_save(user=technician, title="T", body="b", shared=True)
        with pytest.raises(PermissionDenied):
            canned.canned_response_save(
                user=technician, title="T", body="b", shared=False, canned=shared
            )
        saved = canned.canned_response_save(
            user=dispatcher, title="New", body="b", shared=True, canned=shared
        )
        assert saved.owner_id is None and saved.title == "New"
        made = canned.canned_response_save(user=admin_user, title="A", body="b", shared=True)
        assert made.is_shared


class TestPages:
    def test_list_create_edit_delete_own(self, technician):
        http = signed_in(technician)
        url = reverse("tickets:canned-list")
        assert http.get(url).status_code == 200
        answer = http.post(url, {"title": "Reboot", "body": "Please reboot, {{contact.name}}."})
        assert answer.status_code == 302
        response = CannedResponse.objects.get(title="Reboot")
        assert response.owner == technician  # "shared" is not offered to a technician
        edit = reverse("tickets:canned-edit", args=[response.pk])
        page = http.get(edit).content.decode()
        assert "Reboot" in page
        assert http.post(edit, {"title": "Reboot 2", "body": "{{bogus}}"}).status_code == 302
        response.refresh_from_db()
        assert response.title == "Reboot 2"
        assert 'data-testid="unknown-placeholders"' in http.get(edit).content.decode()
        http.post(reverse("tickets:canned-delete", args=[response.pk]))
        assert not CannedResponse.objects.filter(pk=response.pk).exists()

    def test_blank_title_is_a_form_error(self, technician):
        answer = signed_in(technician).post(
            reverse("tickets:canned-list"), {"title": "", "body": "x"}
        )
        assert answer.status_code == 400 and not CannedResponse.objects.exists()

    def test_dispatcher_makes_a_shared_one(self, dispatcher):
        signed_in(dispatcher).post(
            reverse("tickets:canned-list"), {"title": "Hello", "body": "x", "shared": "on"}
        )
        assert CannedResponse.objects.get(title="Hello").owner_id is None

    def test_technician_cannot_forge_shared(self, technician):
        signed_in(technician).post(
            reverse("tickets:canned-list"), {"title": "Hello", "body": "x", "shared": "on"}
        )
        assert CannedResponse.objects.get(title="Hello").owner == technician

    def test_others_own_is_404_and_shared_is_403_to_technicians(self, technician, dispatcher):
        theirs = CannedResponse.objects.create(owner=dispatcher, title="Theirs", body="c")
        shared = CannedResponse.objects.create(owner=None, title="Shared", body="b")
        http = signed_in(technician)
        assert http.get(reverse("tickets:canned-edit", args=[theirs.pk])).status_code == 404
        assert http.post(reverse("tickets:canned-delete", args=[theirs.pk])).status_code == 404
        assert http.get(reverse("tickets:canned-edit", args=[shared.pk])).status_code == 403
        assert http.post(reverse("tickets:canned-delete", args=[shared.pk])).status_code == 403
        assert CannedResponse.objects.count() == 2

    def test_client_users_get_403(self, client_user_a, p1):
        shared = CannedResponse.objects.create(owner=None, title="Shared", body="b")
        http = signed_in(client_user_a)
        for url in (
            reverse("tickets:canned-list"),
            reverse("tickets:canned-edit", args=[shared.pk]),
            reverse("tickets:canned-menu", args=[p1.pk]),
            reverse("tickets:canned-insert", args=[p1.pk, shared.pk]),
        ):
            assert http.get(url).status_code == 403, url

    def test_list_query_count_is_fixed(self, technician, django_assert_num_queries):
        http = signed_in(technician)
        for index in range(3):
            CannedResponse.objects.create(owner=technician, title=f"m{index}", body="a")
        http.get(reverse("tickets:canned-list"))
        for index in range(10):
            CannedResponse.objects.create(owner=None, title=f"s{index}", body="b")
        # session, user, the responses.
        with django_assert_num_queries(3):
            http.get(reverse("tickets:canned-list"))


class TestComposerInsert:
    def test_menu_lists_own_and_shared_only(self, p1, teams, dispatcher):
        me = p1.assignee
        CannedResponse.objects.create(owner=me, title="Mine", body="a")
        CannedResponse.objects.create(owner=None, title="Everyone", body="b")
        CannedResponse.objects.create(owner=dispatcher, title="Dispatcher private", body="c")
        menu = signed_in(me).get(reverse("tickets:canned-menu", args=[p1.pk])).content.decode()
        assert "Mine" in menu and "Everyone" in menu and "Dispatcher private" not in menu

    def test_insert_fills_for_the_ticket(self, p1, teams):
        me = p1.assignee
        response = CannedResponse.objects.create(
            owner=me, title="t", body="Ticket {{ticket.number}} {{nope}}"
        )
        data = signed_in(me).get(reverse("tickets:canned-insert", args=[p1.pk, response.pk])).json()
        assert data == {"text": f"Ticket \\#{p1.pk} {{{{nope}}}}", "unknown": ["nope"]}

    def test_insert_of_anothers_response_is_404(self, p1, teams, dispatcher):
        theirs = CannedResponse.objects.create(owner=dispatcher, title="t", body="secret")
        answer = signed_in(p1.assignee).get(
            reverse("tickets:canned-insert", args=[p1.pk, theirs.pk])
        )
        assert answer.status_code == 404

    def test_insert_for_a_ticket_out_of_scope_is_404(self, p1):
        outsider = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, teams=[])
        shared = CannedResponse.objects.create(owner=None, title="t", body="x")
        answer = signed_in(outsider).get(reverse("tickets:canned-insert", args=[p1.pk, shared.pk]))
        assert answer.status_code == 404


class TestPreview:
    def test_preview_uses_the_reply_sanitiser(self, p1, teams):
        body = "**bold** <script>alert(1)</script> [x](javascript:alert(1))"
        answer = signed_in(p1.assignee).post(
            reverse("tickets:preview", args=[p1.pk]), {"body": body}
        )
        html = answer.content.decode()
        assert answer.status_code == 200 and "<strong>bold</strong>" in html
        assert "<script" not in html and "javascript:" not in html
        # The same HTML as the reply stored from the same text.
        comment = services.ticket_note(ticket=p1, author=p1.assignee, body=body)
        assert Comment.objects.get(pk=comment.pk).body_html.strip() in html

    def test_empty_preview(self, p1, teams):
        answer = signed_in(p1.assignee).post(
            reverse("tickets:preview", args=[p1.pk]), {"body": " "}
        )
        assert "Nothing to preview" in answer.content.decode()

    def test_preview_needs_the_ticket_in_scope(self, p1, client_user_a):
        outsider = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, teams=[])
        url = reverse("tickets:preview", args=[p1.pk])
        assert signed_in(outsider).post(url, {"body": "x"}).status_code == 404
        assert signed_in(client_user_a).post(url, {"body": "x"}).status_code == 403


class TestComposers:
    def test_two_distinct_composers(self, p1, teams):
        page = signed_in(p1.assignee).get(reverse("tickets:detail", args=[p1.pk])).content.decode()
        assert "Public reply - the client sees this" in page
        assert "Internal note - staff only" in page
        assert "Send reply to client" in page and "Add internal note" in page
        reply_form = page[page.index('id="composer-reply"') : page.index('id="composer-note"')]
        note_form = page[page.index('id="composer-note"') :]
        assert reverse("tickets:reply", args=[p1.pk]) in reply_form
        assert reverse("tickets:note", args=[p1.pk]) not in reply_form
        note_form = note_form[: note_form.index("</form>")]
        assert reverse("tickets:note", args=[p1.pk]) in note_form
        assert reverse("tickets:reply", args=[p1.pk]) not in note_form
        assert "border-warning" in note_form and "Send reply" not in note_form

    def test_reply_with_attachment_through_the_composer(self, p1, teams):
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("screenshot.png", b"\x89PNG fake", content_type="image/png")
        answer = signed_in(p1.assignee).post(
            reverse("tickets:note", args=[p1.pk]), {"body": "see screenshot", "attachments": upload}
        )
        assert answer.status_code == 302
        comment = Comment.objects.get(body="see screenshot")
        assert [a.filename for a in comment.attachments.all()] == ["screenshot.png"]


class TestApi:
    def test_own_and_shared_listed_others_not(self, technician, dispatcher, api_as):
        mine = CannedResponse.objects.create(owner=technician, title="Mine", body="{{x}}")
        shared = CannedResponse.objects.create(owner=None, title="Shared", body="b")
        theirs = CannedResponse.objects.create(owner=dispatcher, title="Theirs", body="c")
        api = api_as(technician, "read")
        rows = api.get("/api/v1/canned-responses/").json()["results"]
        assert [(r["id"], r["shared"]) for r in rows] == [(mine.pk, False), (shared.pk, True)]
        assert rows[0]["unknown_placeholders"] == ["x"]
        assert api.get(f"/api/v1/canned-responses/{theirs.pk}/").status_code == 404

    def test_create_edit_delete_with_the_page_rules(self, technician, dispatcher, api_as):
        api = api_as(technician)
        made = api.post("/api/v1/canned-responses/", {"title": "Hi", "body": "x"}, format="json")
        assert made.status_code == 201 and made.json()["shared"] is False
        forged = api.post(
            "/api/v1/canned-responses/", {"title": "S", "body": "x", "shared": True}, format="json"
        )
        assert forged.status_code == 403
        shared = CannedResponse.objects.create(owner=None, title="Shared", body="b")
        url = f"/api/v1/canned-responses/{shared.pk}/"
        assert api.patch(url, {"title": "Mine now"}, format="json").status_code == 403
        assert api.delete(url).status_code == 403
        answer = api_as(dispatcher).patch(url, {"title": "Greeting"}, format="json")
        assert answer.status_code == 200 and answer.json()["title"] == "Greeting"
        assert api_as(dispatcher).delete(url).status_code == 204
        blank = api.post("/api/v1/canned-responses/", {"title": "", "body": "x"}, format="json")
        assert blank.status_code == 400

    def test_fill_for_a_visible_ticket_only(self, p1, teams, api_as):
        response = CannedResponse.objects.create(owner=None, title="t", body="{{ticket.number}}")
        api = api_as(p1.assignee)
        url = f"/api/v1/canned-responses/{response.pk}/fill/"
        answer = api.post(url, {"ticket": p1.pk}, format="json")
        assert answer.json() == {"text": f"\\#{p1.pk}", "unknown": []}
        outsider = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, teams=[])
        assert api_as(outsider).post(url, {"ticket": p1.pk}, format="json").status_code == 404
        assert api.post(url, {"ticket": "x"}, format="json").status_code == 400

    def test_client_users_403(self, client_user_a, api_as):
        assert api_as(client_user_a, "read").get("/api/v1/canned-responses/").status_code == 403
