from django.apps import AppConfig
from django.urls import register_converter


class FileFormatConverter:
    """Report downloads: /<pk>/pdf/ or /<pk>/csv/."""

    regex = "pdf|csv"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self) -> None:
        register_converter(FileFormatConverter, "file_format")
