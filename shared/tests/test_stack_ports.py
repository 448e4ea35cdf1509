import socket

import pytest

from deploy.local.stack import BROKER_PORTS, PORT_RANGE, free_port, parse_scale


def ephemeral_range():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
        low, high = (int(value) for value in ports.read().split())
    return range(low, high + 1)


def test_a_handed_out_port_can_not_be_taken_by_an_outgoing_connection_meanwhile():
    ports = {free_port() for _ in range(50)}
    for port in ports:
        assert PORT_RANGE[0] <= port <= PORT_RANGE[1] and port not in BROKER_PORTS
        assert port not in ephemeral_range()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.pop()))


def test_scale_is_parsed_and_unknown_services_refused():
    assert parse_scale("driver=3,fleet=2") == {"driver": 3, "fleet": 2}
    with pytest.raises(SystemExit, match="unknown service"):
        parse_scale("nosuch=2")
