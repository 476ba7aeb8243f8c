"""Billing's pages in the staff workspace, under /workspace/billing/ (the workspace:
namespace), for administrators and account managers."""

from django.urls import path

from reporting.billing import views

urlpatterns = [
    path("", views.InvoiceListView.as_view(), name="billing-invoice-list"),
    path("invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="billing-invoice-detail"),
    *(
        path(
            f"invoices/<int:pk>/{action}/",
            views.InvoiceActionView.as_view(action=action),
            name=f"billing-invoice-{action}",
        )
        for action in views.ACTIONS
    ),
    path("invoices/<int:pk>/void/", views.InvoiceVoidView.as_view(), name="billing-invoice-void"),
    path(
        "invoices/<int:pk>/credit-note/",
        views.CreditNoteCreateView.as_view(),
        name="billing-credit-note-create",
    ),
    path("invoices/<int:pk>/pdf/", views.StaffInvoicePdfView.as_view(), name="billing-invoice-pdf"),
    path("run/", views.InvoiceRunView.as_view(), name="billing-run"),
    path("runs/<int:pk>/", views.InvoiceRunDetailView.as_view(), name="billing-run-detail"),
    path("spend/", views.SpendRecordsView.as_view(), name="billing-spend"),
    path("rates/", views.RatesView.as_view(), name="billing-rates"),
    path("spend/import/", views.SpendImportView.as_view(), name="billing-spend-import"),
]
