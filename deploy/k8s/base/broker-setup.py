"""The broker-setup Job: one broker user per component with the permissions of
broker-users.json (its own queues only), then the whole topology declared once as the admin;
services run with SECTO_TOPOLOGY=own and declare only their own queues."""
import base64
import json
import os
import urllib.request

from shared.messaging import declare_topology

API, VHOST = "http://rabbitmq:15672/api", "secto"
ADMIN = ("secto", os.environ["RABBITMQ_PASSWORD"])
AUTH = "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()


def put(path, body):
    request = urllib.request.Request(API + path, json.dumps(body).encode(), method="PUT",
                                     headers={"Authorization": AUTH, "Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()


with open(os.path.join(os.path.dirname(__file__), "broker-users.json")) as file:
    users = json.load(file)
for user, permissions in users.items():  # secto-<component>: password RABBITMQ_PASSWORD_<COMPONENT>
    put(f"/users/{user}", {"password": os.environ["RABBITMQ_PASSWORD_" + user.split("-", 1)[1].upper()], "tags": ""})
    put(f"/permissions/{VHOST}/{user}", permissions)
declare_topology(f"amqp://{ADMIN[0]}:{ADMIN[1]}@rabbitmq:5672/{VHOST}")
