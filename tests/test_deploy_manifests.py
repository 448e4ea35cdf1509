"""deploy/k8s is a Kustomize base with a dev and a prod overlay. Both render with `kubectl
kustomize` and validate offline (`kubernetes-validate --strict`, schemas bundled, no API
server): every service and the gateway as a Deployment with replicas, probes on the health
RPC and the configuration it needs, the web app on its own, a broker user per component; the
overlays differ in replicas, image tag, resources and the Secret's name."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.config import ROOT, SERVICES

KUBERNETES_VERSION = "1.32.0"  # of the bundled schemas; kubectl on this machine image is v1.32
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
IMAGE = "registry.example.com/secto/platform"
COMPONENTS = SERVICES + ("gateway",)  # each with a broker user of its own
SECRETS = {"dev": "secto-dev-secrets", "prod": "secto-secrets"}


def kustomize(overlay) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not installed: the k8s manifests are rendered with `kubectl kustomize` "
                    "(kubectl >= 1.27, with Kustomize v5 built in); install it, e.g. from the Kubernetes apt "
                    "repository or https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl")
    done = subprocess.run([kubectl, "kustomize", str(OVERLAYS / overlay)], capture_output=True, text=True)
    assert done.returncode == 0, f"kubectl kustomize {overlay} failed:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {overlay: kustomize(overlay) for overlay in ("dev", "prod")}


@pytest.fixture(scope="module", params=["dev", "prod"])
def documents(request, rendered):
    return list(yaml.safe_load_all(rendered[request.param]))


def named(documents, kind, name):
    """The document of that kind and name (a generated ConfigMap's name has a hash suffix)."""
    [document] = [d for d in documents if d["kind"] == kind and re.fullmatch(rf"{name}(-[a-z0-9]{{10}})?",
                                                                                 d["metadata"]["name"])]
    return document


def deployments(documents) -> dict:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}


def container(document) -> dict:
    [only] = document["spec"]["template"]["spec"]["containers"]
    return only


def env_of(document) -> dict:
    return {variable["name"]: variable for variable in container(document).get("env", [])}


def secret_refs(documents) -> list[tuple[str, str]]:
    """(Secret name, key) of every secretKeyRef of every pod."""
    return [(v["valueFrom"]["secretKeyRef"]["name"], v["valueFrom"]["secretKeyRef"]["key"])
            for d in documents if d["kind"] in ("Deployment", "StatefulSet", "Job")
            for c in d["spec"]["template"]["spec"]["containers"] for v in c.get("env", [])
            if "secretKeyRef" in v.get("valueFrom", {})]


def broker_users(documents) -> dict:
    return json.loads(named(documents, "ConfigMap", "broker-setup")["data"]["broker-users.json"])


def test_both_overlays_are_valid_kubernetes(rendered, tmp_path):
    validate = Path(sys.executable).with_name("kubernetes-validate")
    for overlay, text in rendered.items():
        path = tmp_path / f"{overlay}.yaml"
        path.write_text(text)
        done = subprocess.run([str(validate), "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(path)],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"{overlay}: {done.stdout}{done.stderr}"
        kinds = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(text)}
        assert {("StatefulSet", "rabbitmq"), ("StatefulSet", "postgres"), ("Job", "migrate"), ("Job", "broker-setup"),
                ("Service", "gateway"), ("Service", "web"), ("PersistentVolumeClaim", "kyc-files")} <= kinds


def test_strict_validation_refuses_an_unknown_field(rendered, tmp_path):
    """The validation has teeth: a misspelt field (offline, bundled schemas) fails."""
    path = tmp_path / "broken.yaml"
    path.write_text(rendered["prod"].replace("periodSeconds:", "periodSecond:", 1))
    done = subprocess.run([str(Path(sys.executable).with_name("kubernetes-validate")), "--strict", "--quiet",
                           "-k", KUBERNETES_VERSION, str(path)], capture_output=True, text=True)
    assert done.returncode != 0 and "periodSecond" in done.stdout + done.stderr


def test_each_service_is_a_deployment_with_probes_and_configuration(documents):
    found = deployments(documents)
    assert set(found) == set(SERVICES) | {"gateway", "web"}
    for name in SERVICES:
        pod = container(found[name])
        assert pod["command"][-1] == f"services.{name}.service:{name.capitalize()}Service"
        for probe in ("readinessProbe", "livenessProbe"):
            assert pod[probe]["exec"]["command"] == ["python", "-m", "shared.probe", name]
        env = env_of(found[name])
        assert {"AMQP_URI", f"{name.upper()}_DATABASE_URL", "SECTO_SECRET_KEY", "SECTO_DATA_KEYS",
                "SECTO_INDEX_KEY", "METRICS_PORT"} <= set(env)
        assert env[f"{name.upper()}_DATABASE_URL"]["value"].endswith(f"@postgres:5432/{name}")
        secrets = {v["valueFrom"]["secretKeyRef"]["key"] for v in env.values() if "valueFrom" in v}
        assert {"SECTO_SECRET_KEY", "SECTO_DATA_KEYS", "SECTO_INDEX_KEY"} <= secrets
        assert pod["envFrom"][0]["configMapRef"]["name"] == named(documents, "ConfigMap", "secto-config")["metadata"][
            "name"]
    kyc = found["kyc"]["spec"]["template"]["spec"]
    assert {"name": "kyc-files", "persistentVolumeClaim": {"claimName": "kyc-files"}} in kyc["volumes"]
    gateway = container(found["gateway"])
    assert gateway["readinessProbe"]["tcpSocket"]["port"] == "http" and gateway["ports"][0]["containerPort"] == 8000


def test_the_web_app_is_its_own_deployment_and_service_and_reaches_only_the_gateway(documents):
    web = deployments(documents)["web"]
    env = env_of(web)
    assert container(web)["command"] == ["python", "-m", "web"]
    assert env["GATEWAY_URL"]["value"] == "http://gateway/api/v1"
    assert env["WEB_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "WEB_SECRET_KEY"
    assert env["WEB_SECURE_COOKIES"]["value"] == "true"
    assert not {"AMQP_URI", "SECTO_SECRET_KEY", "SECTO_DATA_KEYS"} & set(env)  # no broker, no keys of the API
    assert "envFrom" not in container(web)
    service = named(documents, "Service", "web")
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert container(web)["readinessProbe"]["httpGet"]["path"] == "/login"


def test_probe_answers_for_a_running_service_and_fails_for_a_missing_one(stack):
    env = {**stack.env, "PYTHONWARNINGS": "ignore"}
    ok = subprocess.run([sys.executable, "-m", "shared.probe", "fleet"], cwd=ROOT, env=env, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run([sys.executable, "-m", "shared.probe", "nosuchservice"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert missing.returncode == 1


def test_the_admin_password_comes_from_the_secret_and_each_component_has_its_own_broker_user(documents):
    found = {name: d for name, d in deployments(documents).items()
             if name != "web"}  # the web app has no broker user (it reaches the gateway only)
    assert set(found) == set(COMPONENTS)
    for name, deployment in found.items():
        env = env_of(deployment)
        assert env["AMQP_URI"]["value"].startswith(f"amqp://secto-{name}:$(RABBITMQ_PASSWORD_{name.upper()})@")
        assert env[f"RABBITMQ_PASSWORD_{name.upper()}"]["valueFrom"]["secretKeyRef"]["key"] == \
            f"RABBITMQ_PASSWORD_{name.upper()}"
        assert "RABBITMQ_PASSWORD" not in env  # not the broker's admin
        assert ("SECTO_ADMIN_PASSWORD" in env) == (name == "identity")
    admin = env_of(found["identity"])["SECTO_ADMIN_PASSWORD"]
    assert admin["valueFrom"]["secretKeyRef"]["key"] == "SECTO_ADMIN_PASSWORD"
    assert named(documents, "ConfigMap", "secto-config")["data"]["SECTO_TOPOLOGY"] == "own"
    setup = named(documents, "Job", "broker-setup")
    assert set(broker_users(documents)) == {f"secto-{c}" for c in COMPONENTS}
    assert {f"RABBITMQ_PASSWORD_{c.upper()}" for c in COMPONENTS} | {"RABBITMQ_PASSWORD"} == set(env_of(setup))
    [volume] = setup["spec"]["template"]["spec"]["volumes"]
    assert volume["configMap"]["name"] == named(documents, "ConfigMap", "broker-setup")["metadata"]["name"]
    assert container(setup)["command"] == ["python", "/etc/secto/broker-setup/broker-setup.py"]
    assert "broker-setup.py" in named(documents, "ConfigMap", "broker-setup")["data"]


def test_each_broker_user_may_touch_its_own_queues_only(documents):
    """The permissions of every component, as the broker matches them (regexes, whole name)."""
    users = broker_users(documents)
    for component in COMPONENTS:
        permissions = users[f"secto-{component}"]
        allowed = {kind: re.compile(pattern) for kind, pattern in permissions.items()}
        own = [f"rpc-{component}", f"rpc.reply-{component}-1f2e", f"evt-fleet-contract_changed--{component}.on_x",
               f"{component}.dead"]
        for queue in own:
            assert all(allowed[kind].fullmatch(queue) for kind in ("configure", "write", "read")), (component, queue)
        assert allowed["write"].fullmatch(f"{component}.events") and allowed["write"].fullmatch("nameko-rpc")
        for other in set(COMPONENTS) - {component}:
            foreign = [f"rpc-{other}", f"rpc.reply-{other}-1f2e", f"evt-fleet-contract_changed--{other}.on_x",
                       f"{other}.dead"]
            for queue in foreign:
                assert not any(pattern.fullmatch(queue) for pattern in allowed.values()), (component, queue)
            assert not allowed["write"].fullmatch(f"{other}.events")  # publishes only its own events
        partner = bool(allowed["read"].fullmatch("driver.partner_fueling"))
        assert partner == (component == "driver")


def test_a_services_broker_user_reaches_its_own_queues_only(rendered):
    """The rendered permissions, applied on a real broker: identity's user declares and uses
    its own queues; another service's queue or exchange is refused."""
    import uuid

    import requests
    from amqp.exceptions import AccessRefused
    from kombu import Connection, Exchange, Queue
    from kombu.exceptions import OperationalError

    from shared.messaging import declare_topology
    from testing.broker import Vhosts

    permissions = broker_users(list(yaml.safe_load_all(rendered["prod"])))["secto-identity"]
    vhosts = Vhosts()
    vhost, user, password = vhosts.create("secto-perm"), f"secto-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    try:
        declare_topology(vhosts.uri(vhost))  # deploy time, as the admin
        requests.put(f"{vhosts.base}/users/{user}", auth=vhosts.auth, json={"password": password, "tags": ""},
                     timeout=10).raise_for_status()
        requests.put(f"{vhosts.base}/permissions/{vhost}/{user}", auth=vhosts.auth,
                     json=permissions, timeout=10).raise_for_status()
        uri = re.sub(r"//[^@/]*@", f"//{user}:{password}@", vhosts.uri(vhost), count=1)
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


def test_the_overlays_set_replicas_image_tag_resources_and_the_secret(rendered):
    dev, prod = (list(yaml.safe_load_all(rendered[overlay])) for overlay in ("dev", "prod"))
    dev_deployments, prod_deployments = deployments(dev), deployments(prod)
    assert {name: d["spec"]["replicas"] for name, d in dev_deployments.items()} == dict.fromkeys(dev_deployments, 1)
    assert {name: d["spec"]["replicas"] for name, d in prod_deployments.items()} == {
        **dict.fromkeys(SERVICES + ("gateway", "web"), 2), "driver": 3}

    def images(documents):
        return {c["image"] for d in documents if d["kind"] in ("Deployment", "Job")
                for c in d["spec"]["template"]["spec"]["containers"]}
    assert images(dev) == {f"{IMAGE}:main"} and images(prod) == {f"{IMAGE}:1.0.0"}

    for name in prod_deployments:  # every Deployment has resources, and they differ per overlay
        dev_resources = container(dev_deployments[name])["resources"]
        prod_resources = container(prod_deployments[name])["resources"]
        assert dev_resources["requests"] and dev_resources["limits"]["memory"]
        assert prod_resources == {"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"memory": "512Mi"}}
        assert dev_resources != prod_resources

    for overlay, documents in (("dev", dev), ("prod", prod)):
        refs = secret_refs(documents)
        assert refs and {secret for secret, _ in refs} == {SECRETS[overlay]}
        assert {key for _, key in refs} >= {"SECTO_SECRET_KEY", "SECTO_ADMIN_PASSWORD", "WEB_SECRET_KEY",
                                            "RABBITMQ_PASSWORD", "POSTGRES_PASSWORD"}
        assert "secret-name" not in {d["metadata"]["name"] for d in documents}  # build-time setting only
    assert {d["metadata"]["namespace"] for d in dev if d["kind"] != "Namespace"} == {"secto-dev"}
    assert {d["metadata"]["namespace"] for d in prod if d["kind"] != "Namespace"} == {"secto"}
