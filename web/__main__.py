"""`python -m web`: the web app on WEB_PORT (default 8080), served by eventlet's WSGI server.
Several processes may listen on one port (SO_REUSEPORT), so `SCALE=web=2` works like the
gateway's."""
import eventlet

eventlet.monkey_patch(psycopg=False)  # no database here: psycopg2 (~6 MB resident) stays unimported

import eventlet.wsgi  # noqa: E402

from shared import config  # noqa: E402
from shared.logging import configure, get_logger  # noqa: E402
from web import create_app  # noqa: E402


def main():
    configure("web")
    host, port = config.env("WEB_HOST", "127.0.0.1"), int(config.env("WEB_PORT", "8080"))
    listener = eventlet.listen((host, port), reuse_port=True)
    get_logger("web").info("web.listening", url=f"http://{host}:{port}/")
    eventlet.wsgi.server(listener, create_app(), log_output=False, max_size=200)


if __name__ == "__main__":
    main()
