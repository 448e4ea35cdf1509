# nameko runs on eventlet: patch before anything imports socket/threading.
import eventlet

eventlet.monkey_patch()

pytest_plugins = ["shared.testing"]
