"""Forms of the timesheet and approval pages."""

from django import forms

from tickets.forms import TimeEntryForm


class TimesheetEntryForm(TimeEntryForm):
    """A new entry from the timesheet: the same as on the ticket page, with the ticket's
    number (a ticket the technician sees)."""

    ticket = forms.IntegerField(min_value=1, label="Ticket number")

    field_order = ["spent_on", "ticket", "start", "end", "minutes", "work_type", "billable"]


class TimesheetWeekForm(forms.Form):
    week = forms.DateField()


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Why is it rejected?")

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the time is rejected.")
        return reason
