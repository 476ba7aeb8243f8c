"""Where uploaded files live (local disk or an S3-compatible bucket) and how a permitted
download leaves the server, both read from the environment by the settings. docs/storage.md."""

import importlib.util

from django.core.exceptions import ImproperlyConfigured

from msp.settings.env import env_int, env_str

LOCAL, S3 = "local", "s3"
# How a download is sent once the view has checked who may have it: through the app
# (stream), handed to the web server in front (nginx's X-Accel-Redirect, Apache's
# X-Sendfile; local disk only), or as a short-lived signed link to the bucket (S3 only).
STREAM, X_ACCEL_REDIRECT, X_SENDFILE, SIGNED_REDIRECT = (
    "stream",
    "x-accel-redirect",
    "x-sendfile",
    "redirect",
)
SERVING_MODES = {
    STREAM: {LOCAL, S3},
    X_ACCEL_REDIRECT: {LOCAL},
    X_SENDFILE: {LOCAL},
    SIGNED_REDIRECT: {S3},
}


def default_storage_from_env() -> dict:
    """The STORAGES["default"] entry: FileSystemStorage under MEDIA_ROOT, or django-storages'
    S3Storage on any S3-compatible store (AWS, MinIO, Ceph, Wasabi...)."""
    kind = env_str("ATTACHMENT_STORAGE", LOCAL)
    if kind == LOCAL:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != S3:
        raise ImproperlyConfigured(f"ATTACHMENT_STORAGE must be local or s3, not {kind!r}.")
    if not all(importlib.util.find_spec(module) for module in ("storages", "boto3")):
        raise ImproperlyConfigured(
            "ATTACHMENT_STORAGE=s3 needs django-storages and boto3: pip install '.[s3]'."
        )
    options = {
        "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", required=True),
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
        "region_name": env_str("AWS_S3_REGION_NAME") or None,
        # Empty: boto3 finds credentials itself (instance role, ~/.aws, AWS_* variables).
        "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
        "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
        "location": env_str("AWS_LOCATION", ""),
        # MinIO and most self-hosted stores want path-style addresses.
        "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE") or None,
        "signature_version": "s3v4",
        # Two uploads called report.pdf in one month are two objects, never one overwritten.
        "file_overwrite": False,
        # Objects stay private: only signed requests (the app's, or a signed link) read them.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": env_int("ATTACHMENT_LINK_SECONDS", 60),
    }
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def serving_mode_from_env(storage: dict) -> str:
    """ATTACHMENT_SERVING, checked against the storage it has to work with."""
    mode = env_str("ATTACHMENT_SERVING", STREAM)
    kind = S3 if "s3" in storage["BACKEND"] else LOCAL
    if mode not in SERVING_MODES:
        raise ImproperlyConfigured(
            f"ATTACHMENT_SERVING must be one of {', '.join(SERVING_MODES)}, not {mode!r}."
        )
    if kind not in SERVING_MODES[mode]:
        raise ImproperlyConfigured(
            f"ATTACHMENT_SERVING={mode} does not work with ATTACHMENT_STORAGE={kind}."
        )
    return mode
