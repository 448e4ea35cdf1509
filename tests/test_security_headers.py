"""Smaller holes (issue 12 §6): security headers on every gateway answer, CSV cells that
cannot become formulas, metrics for staff only (tests/test_metrics.py)."""
import csv
import io
import random
import string

import requests

from shared.spreadsheet import safe_cell


def random_plate():
    return "".join(random.choices(string.ascii_uppercase, k=3)) + "-" + str(random.randint(100, 999))


def test_every_answer_has_the_security_headers(stack, admin):
    answers = [admin.get("/organisations"), admin.get("/organisations/nope"), stack.client().get("/organisations"),
               requests.get(f"{stack.base_url}/no/such/path", timeout=10),
               requests.delete(f"{stack.base_url}/health", timeout=10),
               requests.get(f"{stack.base_url}/health", timeout=10),
               admin.post("/persons/search", json={"national_id": "131052-308T"})]
    for response in answers:
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
        assert response.headers["Cache-Control"] == "no-store", response.url
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_docs_page_has_a_content_security_policy(stack):
    page = requests.get(f"{stack.base_url}/docs", timeout=10)
    policy = page.headers["Content-Security-Policy"]
    assert page.status_code == 200 and "script-src 'self' 'sha256-" in policy and "'unsafe-inline'" not in \
        policy.split("script-src", 1)[1].split(";", 1)[0]
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_safe_cell_escapes_formula_starts_and_keeps_numbers():
    for dangerous in ("=1+1", "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"):
        assert safe_cell(dangerous) == "'" + dangerous
    for harmless in ("-12.50", "42", "Matti", "", None, 7):
        assert safe_cell(harmless) == ("" if harmless is None else str(harmless))


def test_csv_report_cells_cannot_be_formulas(admin, make_org):
    company = make_org()
    for cost_center in ("=HYPERLINK(\"http://evil\")", "@SUM(1)", "+1", "\tTAB"):
        response = admin.post("/vehicles", json={
            "registration_number": random_plate(), "vin": "WVWZZZ1JZXW000001", "make": "Skoda", "model": "Octavia",
            "vehicle_class": "passenger_car", "power_source": "diesel", "co2_g_per_km": 120,
            "user_organisation_id": company["id"], "cost_center": cost_center})
        assert response.status_code == 201, response.text
    export = admin.get("/reports/co2-by-cost-center", headers={"Accept": "text/csv"})
    assert export.status_code == 200 and export.headers["X-Content-Type-Options"] == "nosniff"
    rows = [row for row in csv.DictReader(io.StringIO(export.content.decode("utf-8-sig")))
            if row["user_organisation_id"] == company["id"]]
    assert sorted(row["cost_center"] for row in rows) == sorted(
        ["'=HYPERLINK(\"http://evil\")", "'@SUM(1)", "'+1", "'\tTAB"])


def test_the_stacks_database_files_are_private(stack, admin):
    import stat

    databases = [path for path in stack.var_dir.iterdir() if ".db" in path.name]
    assert databases or stack.env.get("IDENTITY_DATABASE_URL")
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in databases} == \
        {path.name: 0o600 for path in databases}
