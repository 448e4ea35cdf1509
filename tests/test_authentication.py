"""Authentication that reveals nothing and cannot be turned against users (issue 12 §4):
one answer for every failed login, a lockout per (username, client), no way to lock the
company out, argon2 off the event loop."""
import statistics
import threading
import time
import uuid

from nameko.standalone.rpc import ClusterRpcClient

from testing.stack import ADMIN

PASSWORD = "Long-enough-password-1"


def login(client, username, password):
    started = time.perf_counter()
    response = client.post("/auth/token", json={"username": username, "password": password})
    return response, time.perf_counter() - started


def answer(response):
    body = response.json()
    body["details"].pop("retry_after", None)  # seconds left: the same only to the second
    return response.status_code, body


def test_wrong_password_and_unknown_username_answer_alike_locked_or_not(stack, make_user):
    account, _ = make_user("staff")
    client = stack.client(source_ip="127.0.0.5")
    unknown = f"nobody-{uuid.uuid4().hex[:8]}"
    answers, times = {account["username"]: [], unknown: []}, {account["username"]: [], unknown: []}
    for _ in range(6):  # 5 failures, then locked: the 6th answer too must not tell them apart
        for username in answers:
            response, took = login(client, username, "Wrong-password-123")
            answers[username].append(answer(response))
            times[username].append(took)
    assert answers[account["username"]] == answers[unknown]
    assert [status for status, _ in answers[unknown]] == [401] * 5 + [429]
    known, nobody = statistics.median(times[account["username"]]), statistics.median(times[unknown])
    print(f"median login answer: existing account {known * 1000:.0f} ms, unknown username {nobody * 1000:.0f} ms")
    assert 0.33 < known / nobody < 3  # one argon2 verification each (generous: a shared, loaded machine)
    # locked with the right password: the same answer as well
    assert answer(login(client, account["username"], PASSWORD)[0]) == answers[unknown][-1]


def test_a_lockout_from_one_client_does_not_lock_the_account_elsewhere(stack, make_user):
    account, _ = make_user("staff")
    attacker = stack.client(source_ip="127.0.0.6")
    for _ in range(6):
        login(attacker, account["username"], "Wrong-password-123")
    assert login(attacker, account["username"], PASSWORD)[0].status_code == 429
    assert login(stack.client(), account["username"], PASSWORD)[0].status_code == 200


def test_wrong_current_passwords_count_as_failed_logins(stack, make_user):
    account, user = make_user("staff")
    user = stack.client(source_ip="127.0.0.7").login(account["username"], PASSWORD)
    statuses = [user.put("/me/password", json={"current_password": "Wrong-password-123",
                                                "new_password": "Another-long-password-2"}).status_code
                for _ in range(6)]
    assert statuses == [400] * 5 + [429]
    assert login(stack.client(source_ip="127.0.0.7"), account["username"], PASSWORD)[0].status_code == 429


def own_account_id(admin):
    users = admin.get("/users", params={"role": "staff", "limit": 200}).json()["items"]
    return next(user["id"] for user in users if user["username"] == ADMIN[0])


def test_an_account_cannot_deactivate_itself_and_booleans_are_strict(stack, admin):
    own_id = own_account_id(admin)
    response = admin.patch(f"/users/{own_id}", json={"active": 0, "scope": "group"})
    assert response.status_code == 400 and "active" in response.json()["details"]
    response = admin.patch(f"/users/{own_id}", json={"scope": "group"})
    assert response.status_code == 400 and "scope" in response.json()["details"]
    response = admin.patch(f"/users/{own_id}", json={"active": False})
    assert response.status_code == 409 and response.json()["error"] == "cannot_deactivate_self"
    assert admin.get("/users/" + own_id).json()["scope"] is None


def test_a_fleet_manager_reactivates_only_accounts_it_deactivated(admin, make_org, make_user):
    company = make_org()
    _, manager = make_user("fleet_manager", organisation_id=company["id"])
    colleague, _ = make_user("fleet_manager", organisation_id=company["id"])
    assert manager.patch(f"/users/{colleague['id']}", json={"active": False}).json()["active"] is False
    assert manager.patch(f"/users/{colleague['id']}", json={"active": True}).json()["active"] is True
    assert admin.patch(f"/users/{colleague['id']}", json={"active": False}).status_code == 200
    refused = manager.patch(f"/users/{colleague['id']}", json={"active": True})
    assert refused.status_code == 409 and refused.json()["error"] == "reactivation_not_allowed"


def test_erasure_clears_the_login(admin, make_person, make_user, stack):
    person = make_person()
    account, _ = make_user("driver", person_id=person["id"])
    assert admin.post(f"/persons/{person['id']}/erase").status_code == 200
    assert login(stack.client(), account["username"], PASSWORD)[0].status_code == 401


def test_argon2_does_not_block_the_identity_process(stack):
    """While logins hash, a cheap RPC of the same identity process still answers at once."""
    logins, stop = [], threading.Event()

    def keep_logging_in(index):
        client = stack.client(source_ip=f"127.0.1.{index}")
        while not stop.is_set():
            logins.append(login(client, f"load-{uuid.uuid4().hex[:8]}", "Wrong-password-123")[1])

    threads = [threading.Thread(target=keep_logging_in, args=(index,)) for index in range(1, 5)]
    for thread in threads:
        thread.start()
    health = []
    try:
        with ClusterRpcClient(uri=stack.amqp_uri, timeout=60) as rpc:
            deadline = time.time() + 120
            while len(logins) < 4 and time.time() < deadline:
                time.sleep(0.1)
            for _ in range(20):
                started = time.perf_counter()
                rpc.identity.health()
                health.append(time.perf_counter() - started)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    login_median, health_median = statistics.median(logins), statistics.median(health)
    print(f"4 concurrent logins: login median {login_median * 1000:.0f} ms, "
          f"identity.health RPC median meanwhile {health_median * 1000:.0f} ms")
    assert health_median < login_median / 2
