from shared.db import Database
from shared.service_base import Cipher

__all__ = ["Database", "Cipher"]
