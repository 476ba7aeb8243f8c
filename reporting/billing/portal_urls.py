"""A client's finalised invoices and credit notes in the portal (the portal: namespace)."""

from django.urls import path

from reporting.billing import views

urlpatterns = [
    path("", views.PortalInvoiceListView.as_view(), name="invoice-list"),
    path("<int:pk>/", views.PortalInvoiceDetailView.as_view(), name="invoice-detail"),
    path("<int:pk>/pdf/", views.PortalInvoicePdfView.as_view(), name="invoice-pdf"),
]
