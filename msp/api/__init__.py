"""The REST API's shared parts: token authentication, scope and role permissions, errors,
pagination and throttling. Each app's API views live in its own `api.py`."""
