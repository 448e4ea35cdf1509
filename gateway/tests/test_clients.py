"""X-Forwarded-For counts only from a trusted proxy (the web app), never from anyone else."""
from types import SimpleNamespace

from gateway.clients import client_address


def request(peer, forwarded=None):
    return SimpleNamespace(remote_addr=peer, headers={"X-Forwarded-For": forwarded} if forwarded else {})


def test_forwarded_address_only_from_trusted_proxies(monkeypatch):
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    assert client_address(request("127.0.0.1", "203.0.113.7")) == "203.0.113.7"
    assert client_address(request("10.1.2.3", "198.51.100.1, 203.0.113.7")) == "203.0.113.7"
    assert client_address(request("10.1.2.3", "203.0.113.7, 10.9.9.9")) == "203.0.113.7"  # skips trusted hops
    assert client_address(request("192.0.2.5", "203.0.113.7")) == "192.0.2.5"  # not a proxy: ignored
    assert client_address(request("127.0.0.1")) == "127.0.0.1"
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "")
    assert client_address(request("127.0.0.1", "203.0.113.7")) == "127.0.0.1"
