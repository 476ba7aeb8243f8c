from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory

from msp.choices import UserRole
from msp.models import User
from sla.choices import PausableStatus, Priority
from sla.models import (
    BusinessCalendar,
    EscalationRule,
    Holiday,
    SLAPolicy,
    SLATarget,
    WorkingInterval,
)
from sla.services import (
    CALENDAR_FIELDS,
    MAX_PRESET_YEARS,
    POLICY_FIELDS,
    RULE_FIELDS,
    working_intervals_validate,
)


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = list(CALENDAR_FIELDS)
        widgets = {
            "timezone": forms.TextInput(
                attrs={"list": "timezones", "placeholder": "Europe/Berlin"}
            ),
            "description": forms.Textarea(attrs={"rows": 2}),
        }


class WorkingIntervalFormSetBase(BaseInlineFormSet):
    """Checks the week as a whole: no overlapping intervals on a weekday."""

    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        spans = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or data.get("start_time") is None:
                continue
            interval = WorkingInterval(
                weekday=data["weekday"], start_time=data["start_time"], end_time=data["end_time"]
            )
            spans.append((interval.weekday, interval.start_minute, interval.end_minute))
        try:
            working_intervals_validate(spans)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


WorkingIntervalFormSet = inlineformset_factory(
    BusinessCalendar,
    WorkingInterval,
    formset=WorkingIntervalFormSetBase,
    fields=["weekday", "start_time", "end_time"],
    widgets={
        "start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        "end_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    },
    extra=2,
    can_delete=True,
)


class HolidayForm(forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["date", "name"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}


class HolidayImportForm(forms.Form):
    first_year = forms.IntegerField(min_value=1970, max_value=2100)
    last_year = forms.IntegerField(min_value=1970, max_value=2100)

    def __init__(self, *args, calendar: BusinessCalendar, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calendar = calendar
        this_year = date.today().year  # noqa: DTZ011 (a form default; any zone's year will do)
        self.fields["first_year"].initial = this_year
        self.fields["last_year"].initial = this_year + 1

    def clean(self) -> dict:
        data = super().clean()
        if not self.calendar.holiday_country:
            raise ValidationError("Set the calendar's holiday country first.")
        first, last = data.get("first_year"), data.get("last_year")
        if first and last and not 0 <= last - first < MAX_PRESET_YEARS:
            self.add_error("last_year", f"Give a range of 1 to {MAX_PRESET_YEARS} years.")
        return data


class SLAPolicyForm(forms.ModelForm):
    pause_statuses = forms.MultipleChoiceField(
        choices=PausableStatus.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="While a ticket is in one of these statuses its resolution clock is paused.",
    )

    class Meta:
        model = SLAPolicy
        fields = list(POLICY_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class SLATargetFormSetBase(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        priorities = [
            form.cleaned_data["priority"]
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
        ]
        missing = sorted(set(Priority.values) - set(priorities))
        if missing:
            raise ValidationError(f"Every priority needs targets; missing: {', '.join(missing)}.")
        if len(priorities) != len(set(priorities)):
            raise ValidationError("Each priority may appear once.")


SLATargetFormSet = inlineformset_factory(
    SLAPolicy,
    SLATarget,
    formset=SLATargetFormSetBase,
    fields=[
        "priority",
        "response_minutes",
        "response_calendar",
        "resolution_minutes",
        "resolution_calendar",
    ],
    extra=0,
    min_num=4,
    max_num=4,
    validate_max=True,
    can_delete=False,
)


class EscalationRuleForm(forms.ModelForm):
    priorities = forms.MultipleChoiceField(
        choices=Priority.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every priority.",
    )

    class Meta:
        model = EscalationRule
        fields = list(RULE_FIELDS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reassign_to"].queryset = User.objects.filter(is_active=True).exclude(
            role=UserRole.CLIENT
        )


EscalationRuleFormSet = inlineformset_factory(
    SLAPolicy, EscalationRule, form=EscalationRuleForm, extra=1, can_delete=True
)
