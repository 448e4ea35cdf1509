"""deploy/k8s renders valid Kubernetes manifests (validated offline against the bundled
schemas of kubernetes-validate): every service and the gateway as a Deployment with
replicas, probes on the health RPC and the configuration it needs."""
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from shared.config import ROOT, SERVICES

KUBERNETES_VERSION = "1.30"


@pytest.fixture(scope="module")
def documents():
    rendered = subprocess.run([sys.executable, "-m", "deploy.k8s.render", "--replicas", "driver=3,fleet=2"],
                              cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return list(yaml.safe_load_all(rendered))


def test_every_document_is_valid(documents):
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert {("StatefulSet", "rabbitmq"), ("StatefulSet", "postgres"), ("Job", "migrate"), ("Service", "gateway"),
            ("ConfigMap", "secto-config")} <= kinds


def test_each_service_is_a_deployment_with_probes_and_configuration(documents):
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert set(deployments) == set(SERVICES) | {"gateway", "web"}
    assert (deployments["driver"]["spec"]["replicas"], deployments["fleet"]["spec"]["replicas"]) == (3, 2)
    for name in SERVICES:
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["exec"]["command"] == ["python", "-m", "shared.probe", name]
        env = {variable["name"] for variable in container["env"]}
        assert {"AMQP_URI", f"{name.upper()}_DATABASE_URL", "SECTO_SECRET_KEY", "SECTO_DATA_KEYS",
                "SECTO_INDEX_KEY", "METRICS_PORT"} <= env
        secrets = {v["valueFrom"]["secretKeyRef"]["key"] for v in container["env"] if "valueFrom" in v}
        assert {"SECTO_SECRET_KEY", "SECTO_DATA_KEYS", "SECTO_INDEX_KEY"} <= secrets


def test_the_web_app_is_its_own_deployment_and_service_and_reaches_only_the_gateway(documents):
    [web] = [d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "web"]
    [container] = web["spec"]["template"]["spec"]["containers"]
    env = {variable["name"]: variable for variable in container["env"]}
    assert env["GATEWAY_URL"]["value"] == "http://gateway/api/v1"
    assert env["WEB_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "WEB_SECRET_KEY"
    assert env["WEB_SECURE_COOKIES"]["value"] == "true"
    assert not {"AMQP_URI", "SECTO_SECRET_KEY", "SECTO_DATA_KEYS"} & set(env)  # no broker, no keys of the API
    assert ("Service", "web") in {(d["kind"], d["metadata"]["name"]) for d in documents}


def test_probe_answers_for_a_running_service_and_fails_for_a_missing_one(stack):
    env = {**stack.env, "PYTHONWARNINGS": "ignore"}
    ok = subprocess.run([sys.executable, "-m", "shared.probe", "fleet"], cwd=ROOT, env=env, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run([sys.executable, "-m", "shared.probe", "nosuchservice"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert missing.returncode == 1


def test_the_admin_password_comes_from_the_secret_and_each_component_has_its_own_broker_user(documents):
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"
                   and d["metadata"]["name"] != "web"}  # the web app has no broker user (it reaches the gateway only)
    for name, deployment in deployments.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = {v["name"]: v for v in container["env"]}
        assert env["AMQP_URI"]["value"].startswith(f"amqp://secto-{name}:$(RABBITMQ_PASSWORD_{name.upper()})@")
        assert "RABBITMQ_PASSWORD" not in env  # not the broker's admin
        assert ("SECTO_ADMIN_PASSWORD" in env) == (name == "identity")
    [identity] = deployments["identity"]["spec"]["template"]["spec"]["containers"]
    admin = next(v for v in identity["env"] if v["name"] == "SECTO_ADMIN_PASSWORD")
    assert admin["valueFrom"]["secretKeyRef"]["key"] == "SECTO_ADMIN_PASSWORD"
    config = next(d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "secto-config")
    assert config["data"]["SECTO_TOPOLOGY"] == "own"
    assert ("Job", "broker-setup") in {(d["kind"], d["metadata"]["name"]) for d in documents}


def test_a_services_broker_user_reaches_its_own_queues_only(documents):
    """The rendered permissions, applied on a real broker: identity's user declares and uses
    its own queues; another service's queue or exchange is refused."""
    import uuid

    import requests
    from kombu import Connection, Exchange, Queue
    from kombu.exceptions import OperationalError
    from amqp.exceptions import AccessRefused

    from deploy.k8s.render import broker_permissions
    from shared.messaging import declare_topology
    from testing.broker import Vhosts

    vhosts = Vhosts()
    vhost, user, password = vhosts.create("secto-perm"), f"secto-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    try:
        declare_topology(vhosts.uri(vhost))  # deploy time, as the admin
        requests.put(f"{vhosts.base}/users/{user}", auth=vhosts.auth, json={"password": password, "tags": ""},
                     timeout=10).raise_for_status()
        requests.put(f"{vhosts.base}/permissions/{vhost}/{user}", auth=vhosts.auth,
                     json=broker_permissions("identity"), timeout=10).raise_for_status()
        uri = vhosts.uri(vhost).replace("guest:guest@", f"{user}:{password}@")
        declare_topology(uri, "identity")
        rpc = Exchange("nameko-rpc", type="topic", durable=True)

        def allowed(action) -> bool:
            with Connection(uri) as connection:
                try:
                    action(connection.channel())
                    return True
                except (AccessRefused, OperationalError):
                    return False

        assert allowed(lambda ch: Queue("rpc-identity", rpc, routing_key="identity.*", durable=True)(ch).declare())
        assert allowed(lambda ch: Queue(f"rpc.reply-identity-{uuid.uuid4()}", rpc, auto_delete=True)(ch).declare())
        assert allowed(lambda ch: Queue("identity.dead", durable=True)(ch).declare())
        assert not allowed(lambda ch: Queue("rpc-fleet", rpc, routing_key="fleet.*", durable=True)(ch).declare())
        assert not allowed(lambda ch: Queue("driver.partner_fueling", durable=True)(ch).queue_declare(passive=True)
                           and ch.basic_get("driver.partner_fueling"))
        assert not allowed(lambda ch: ch.basic_get("evt-identity-person_created--driver.on_person_created"))
    finally:
        requests.delete(f"{vhosts.base}/users/{user}", auth=vhosts.auth, timeout=10)
        vhosts.delete(vhost)
