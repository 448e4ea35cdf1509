# One image for every service, the gateway, the web app, migrations, probes and the broker-setup
# Job (deploy/k8s: kubectl apply -k deploy/k8s/overlays/prod).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml config.yaml ./
COPY shared shared
COPY services services
COPY gateway gateway
COPY web web
COPY deploy deploy
RUN pip install --no-cache-dir . && useradd --uid 10001 --no-create-home secto
USER 10001
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 EVENTLET_NO_GREENDNS=yes
CMD ["python", "-m", "nameko", "run", "--config", "config.yaml", "gateway.service:GatewayService"]
