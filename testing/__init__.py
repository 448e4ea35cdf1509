"""The test kit, above `shared` and `deploy`: what the suites (tests/, services/*/tests,
shared/tests, gateway/tests) and bench/ use to run the platform for real.

- `testing.broker`: RabbitMQ vhosts through the management API, a private broker of a
  test's own, durable queues that keep a service's events.
- `testing.stack`: the whole platform (every service, the gateway and the web app as real
  processes) on its own vhost, temp directory and ports; a client of its API.
- `testing.data`: unique test data (national ids, business ids, plates) and request bodies.
- `testing.plugin`: the pytest fixtures (`pytest_plugins = ["testing.plugin"]`).

Isolation: every run uses its own vhost, temp directory and free ports, so the suite can
run twice at once and beside `make run`.
"""
