from shared.errors import NotFound  # noqa: F401  (this service's errors subclass the shared ones)
