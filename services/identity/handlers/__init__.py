"""Identity use cases, one module per sub-domain: plain functions over the entrypoint's
Session (the unit of work commits once when the entrypoint returned and then sends the
events the use case collected with shared.db.publish). Import the sub-module you need:
`from services.identity.handlers import accounts`."""
