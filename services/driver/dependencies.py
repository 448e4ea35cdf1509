from shared.db import Database

__all__ = ["Database"]
