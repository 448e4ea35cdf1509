"""Kubernetes manifests for the platform, rendered from one description so every service
is deployed the same way:

    python -m deploy.k8s.render [--image IMAGE] [--replicas driver=3,fleet=2] | kubectl apply -f -

Namespace `secto`: a ConfigMap and the Secret `secto-secrets` (create it yourself, see
deploy/k8s/README.md), RabbitMQ and PostgreSQL StatefulSets with volumes, a migration Job,
one Deployment per service (replicas, exec probes on the health RPC) and the gateway
Deployment + Service."""
import argparse
import sys

import yaml

from shared.config import SERVICES

NAMESPACE = "secto"
IMAGE = "registry.example.com/secto/platform:latest"
CONFIG = "secto-config"
SECRETS = "secto-secrets"
GATEWAY_PORT = 8000
WEB_PORT = 8080
METRICS_PORT = 9100
SECRET_KEYS = ("SECTO_SECRET_KEY", "SECTO_DATA_KEYS", "SECTO_INDEX_KEY", "RABBITMQ_PASSWORD", "POSTGRES_PASSWORD",
               "SECTO_ADMIN_PASSWORD", "WEB_SECRET_KEY")


def labels(name):
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "secto"}


def metadata(name):
    return {"name": name, "namespace": NAMESPACE, "labels": labels(name)}


def secret_env(*names):
    return [{"name": n, "valueFrom": {"secretKeyRef": {"name": SECRETS, "key": n}}} for n in names]


def platform_env():
    """Broker and database URLs are composed from the ConfigMap and the Secret."""
    env = secret_env("RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "SECTO_SECRET_KEY", "SECTO_DATA_KEYS",
                     "SECTO_INDEX_KEY")
    env.append({"name": "AMQP_URI", "value": "amqp://secto:$(RABBITMQ_PASSWORD)@rabbitmq:5672/secto"})
    env += [{"name": f"{s.upper()}_DATABASE_URL",
             "value": f"postgresql://secto:$(POSTGRES_PASSWORD)@postgres:5432/{s}"} for s in SERVICES]
    return env


def container(name, command, image, **extra):
    return {"name": name, "image": image, "command": command, "env": platform_env(),
            "envFrom": [{"configMapRef": {"name": CONFIG}}],
            "resources": {"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"memory": "512Mi"}},
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True},
            **extra}


def nameko_run(cls):
    return ["python", "-m", "nameko", "run", "--config", "config.yaml", cls]


def deployment(name, replicas, pod_container, volumes=()):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(name),
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels(name)},
                     "template": {"metadata": {"labels": labels(name),
                                               "annotations": {"prometheus.io/scrape": "true",
                                                               "prometheus.io/port": str(METRICS_PORT)}},
                                  "spec": {"containers": [pod_container], "volumes": list(volumes)}}}}


def service_deployment(service, replicas, image):
    probe = {"exec": {"command": ["python", "-m", "shared.probe", service]}, "timeoutSeconds": 5}
    pod = container(service, nameko_run(f"services.{service}.service:{service.capitalize()}Service"), image,
                    ports=[{"name": "metrics", "containerPort": METRICS_PORT}],
                    readinessProbe={**probe, "periodSeconds": 10, "failureThreshold": 2},
                    livenessProbe={**probe, "initialDelaySeconds": 20, "periodSeconds": 30, "failureThreshold": 3},
                    volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}])
    pod["env"] = pod["env"] + [{"name": "METRICS_PORT", "value": str(METRICS_PORT)}]
    return deployment(service, replicas, pod, [{"name": "tmp", "emptyDir": {}}])


def gateway(replicas, image):
    http = {"httpGet": {"path": "/api/v1/metrics", "port": "http"}, "timeoutSeconds": 3}
    pod = container("gateway", nameko_run("gateway.service:GatewayService"), image,
                    ports=[{"name": "http", "containerPort": GATEWAY_PORT}],
                    readinessProbe={**http, "periodSeconds": 5}, livenessProbe={**http, "periodSeconds": 20},
                    volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}])
    pod["env"] = pod["env"] + [{"name": "GATEWAY_HOST", "value": "0.0.0.0"}]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": metadata("gateway"),
               "spec": {"selector": labels("gateway"), "ports": [{"name": "http", "port": 80,
                                                                   "targetPort": "http"}]}}
    return [deployment("gateway", replicas, pod, [{"name": "tmp", "emptyDir": {}}]), service]


def web(replicas, image):
    """The web app: a client of the gateway Service only (no broker, no database)."""
    http = {"httpGet": {"path": "/login", "port": "http"}, "timeoutSeconds": 3}
    pod = container("web", ["python", "-m", "web"], image, ports=[{"name": "http", "containerPort": WEB_PORT}],
                    readinessProbe={**http, "periodSeconds": 5}, livenessProbe={**http, "periodSeconds": 20},
                    volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}])
    pod["env"] = secret_env("WEB_SECRET_KEY") + [
        {"name": "WEB_HOST", "value": "0.0.0.0"}, {"name": "WEB_PORT", "value": str(WEB_PORT)},
        {"name": "GATEWAY_URL", "value": "http://gateway/api/v1"}, {"name": "WEB_SECURE_COOKIES", "value": "true"}]
    pod.pop("envFrom")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": metadata("web"),
               "spec": {"selector": labels("web"), "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    return [deployment("web", replicas, pod, [{"name": "tmp", "emptyDir": {}}]), service]


def stateful(name, image, port, env, mount, probe_command, size):
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": metadata(name),
         "spec": {"selector": labels(name), "clusterIP": "None", "ports": [{"name": name, "port": port}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata(name),
         "spec": {"serviceName": name, "replicas": 1, "selector": {"matchLabels": labels(name)},
                  "template": {"metadata": {"labels": labels(name)}, "spec": {"containers": [{
                      "name": name, "image": image, "env": env, "ports": [{"name": name, "containerPort": port}],
                      "volumeMounts": [{"name": "data", "mountPath": mount}],
                      "readinessProbe": {"exec": {"command": probe_command}, "periodSeconds": 10},
                      "livenessProbe": {"exec": {"command": probe_command}, "periodSeconds": 30,
                                        "initialDelaySeconds": 30}}]}},
                  "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                      "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}]}},
    ]


def infrastructure():
    databases = " ".join(SERVICES)
    init = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata("postgres-init"), "data": {
        "init.sh": "#!/bin/sh\nset -e\nfor db in " + databases + "; do\n"
                   "  psql -v ON_ERROR_STOP=1 -U secto -d postgres -c \"CREATE DATABASE $db OWNER secto\"\ndone\n"}}
    postgres = stateful("postgres", "postgres:16", 5432,
                        [{"name": "POSTGRES_USER", "value": "secto"}, {"name": "PGDATA",
                                                                        "value": "/var/lib/postgresql/data/pgdata"}]
                        + secret_env("POSTGRES_PASSWORD"),
                        "/var/lib/postgresql/data", ["pg_isready", "-U", "secto"], "20Gi")
    pod = postgres[1]["spec"]["template"]["spec"]
    pod["containers"][0]["volumeMounts"].append({"name": "init", "mountPath": "/docker-entrypoint-initdb.d"})
    pod["volumes"] = [{"name": "init", "configMap": {"name": "postgres-init"}}]
    rabbitmq = stateful("rabbitmq", "rabbitmq:3.13-management", 5672,
                        [{"name": "RABBITMQ_DEFAULT_USER", "value": "secto"},
                         {"name": "RABBITMQ_DEFAULT_VHOST", "value": "secto"},
                         {"name": "RABBITMQ_DEFAULT_PASS", "valueFrom": {"secretKeyRef": {
                             "name": SECRETS, "key": "RABBITMQ_PASSWORD"}}}],
                        "/var/lib/rabbitmq", ["rabbitmq-diagnostics", "-q", "ping"], "5Gi")
    return [init, *postgres, *rabbitmq]


def migration_job(image):
    pod = container("migrate", ["python", "-m", "shared.migrate", "upgrade"], image)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata("migrate"),
            "spec": {"backoffLimit": 10, "template": {"metadata": {"labels": labels("migrate")},
                                                      "spec": {"restartPolicy": "OnFailure", "containers": [pod]}}}}


def manifests(image=IMAGE, replicas=None) -> list[dict]:
    replicas = replicas or {}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(CONFIG), "data": {
        "SECTO_RPC_TIMEOUT": "5", "SECTO_TOKEN_TTL": "900", "SECTO_ADMIN_USERNAME": "admin",
        "GATEWAY_PORT": str(GATEWAY_PORT), "SECTO_VAR_DIR": "/tmp/secto", "KYC_FILES_DIR": "/var/secto/kyc-files",
        "GATEWAY_RATE_PER_IP": "20", "GATEWAY_RATE_PER_ACCOUNT": "10",
        # the web app's pods: the gateway takes the person's address from their X-Forwarded-For
        "GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8"}}
    documents = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels("secto")}},
                 config, *infrastructure(), migration_job(image)]
    documents += [service_deployment(s, replicas.get(s, 2), image) for s in SERVICES]
    documents += gateway(replicas.get("gateway", 2), image)
    documents += web(replicas.get("web", 2), image)
    kyc = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "kyc")
    kyc_pod = kyc["spec"]["template"]["spec"]
    kyc_pod["containers"][0]["volumeMounts"].append({"name": "kyc-files", "mountPath": "/var/secto/kyc-files"})
    kyc_pod["volumes"].append({"name": "kyc-files", "persistentVolumeClaim": {"claimName": "kyc-files"}})
    documents.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata("kyc-files"),
                      "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "50Gi"}}}})
    return documents


def main(argv=None):
    from deploy.local.stack import parse_scale

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=IMAGE)
    parser.add_argument("--replicas", default="", help="e.g. driver=3,fleet=2 (default 2 each)")
    args = parser.parse_args(argv)
    yaml.safe_dump_all(manifests(args.image, parse_scale(args.replicas)), sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
