from shared.schemas import StrictSchema  # noqa: F401
