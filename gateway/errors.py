"""Import every service's exception module so that nameko turns their errors back into
real types here (they register themselves; see shared.errors) and the gateway can map
them to HTTP by isinstance on the shared bases."""
import importlib

from shared.config import SERVICES

for _service in SERVICES:
    importlib.import_module(f"services.{_service}.exceptions")
