from django import forms
from django.contrib.contenttypes.models import ContentType

from msp.audit.registry import audited_models

SOURCES = [
    ("", "any source"),
    ("workspace", "workspace"),
    ("api", "API"),
    ("admin", "Django admin"),
    ("portal", "client portal"),
    ("web", "other pages (sign-in, tokens)"),
    ("command", "management commands"),
    ("task", "Celery tasks"),
]


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(required=False, label="Record")
    object = forms.CharField(required=False, max_length=40, label="Object id")
    actor = forms.CharField(required=False, max_length=254, label="Actor email")
    source = forms.ChoiceField(required=False, choices=SOURCES)
    since = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))
    q = forms.CharField(required=False, max_length=200, label="Text")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "every record")] + [
            (model._meta.label_lower, model._meta.verbose_name.capitalize())
            for model in audited_models()
        ]

    def filters(self) -> dict:
        """Keyword arguments for selectors.audit_entries_filter (empty when invalid)."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        model = None
        if data["model"]:
            app_label, name = data["model"].split(".")
            model = ContentType.objects.get_by_natural_key(app_label, name)
        return {
            "model": model,
            "object_pk": data["object"].strip(),
            "actor": data["actor"].strip(),
            "source": data["source"],
            "since": data["since"],
            "until": data["until"],
            "text": data["q"].strip(),
        }
