"""Polling for eventually-consistent results (tests and tools)."""
import time


def wait_for(probe, timeout=10.0, interval=0.1):
    """Call probe() until it returns something truthy; return that or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)
