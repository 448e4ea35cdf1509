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
