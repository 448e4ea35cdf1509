import os

# nameko runs on eventlet: patch before anything imports socket/threading. The browser
# tests (tests/web, run in a session of their own) drive Playwright, whose asyncio loop
# deadlocks under a patched hub, and need no in-process nameko.
if os.environ.get("SECTO_EVENTLET", "1") == "1":
    import eventlet

    eventlet.monkey_patch()

pytest_plugins = ["testing.plugin"]
