"""KYC through the gateway: staff only, upload limits and types, the stored file is not the
plaintext, national ids only masked."""
import uuid
from pathlib import Path

from testing.data import unique_national_id

PDF = b"%PDF-1.4\n" + b"KYC-PLAINTEXT-MARKER " * 500
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def test_case_lifecycle_upload_and_parties(admin, stack, make_org, make_person, make_user):
    company = make_org()
    national_id = unique_national_id()
    created = admin.post("/kyc/cases", json={"customer_id": company["id"], "national_id": national_id,
                                             "document_type": "id_card", "document_number": "ID998877",
                                             "document_country": "FI", "document_expires_on": "2031-05-01"})
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["national_id"] == national_id[:7] + "****" and case["status"] == "pending"
    path = f"/kyc/cases/{case['id']}"

    file_path = f"{path}/document-file"
    too_big = admin.put(file_path, files={"file": ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024 - 4))})
    assert too_big.status_code == 413, too_big.text
    text_file = admin.put(file_path, files={"file": ("notes.pdf", b"just text", "application/pdf")})
    assert text_file.status_code == 415 and text_file.json()["error"] == "file_type_not_allowed"
    assert admin.put(file_path, json={"file": "x"}).status_code == 415
    assert admin.put(file_path, files={"other": ("a.pdf", PDF)}).status_code == 400
    uploaded = admin.put(file_path, files={"file": ("passport.pdf", PDF, "application/pdf")})
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["file"] == {"content_type": "application/pdf", "size": len(PDF)}
    assert admin.put(file_path, files={"file": ("scan.png", PNG)}).json()["file"]["content_type"] == "image/png"
    assert admin.put(file_path, files={"file": ("passport.pdf", PDF)}).status_code == 200
    download = admin.get(file_path)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    stored = list(Path(stack.var_dir).rglob(f"{case['id']}.bin"))
    assert len(stored) == 1 and b"KYC-PLAINTEXT-MARKER" not in stored[0].read_bytes()

    owner = admin.post(f"{path}/parties", json={"kind": "beneficial_owner", "first_name": "Omistaja",
                                                "last_name": "Suuri", "ownership_percent": "60.5",
                                                "national_id": unique_national_id(), "nationality": "FI"})
    assert owner.status_code == 201, owner.text
    assert admin.post(f"{path}/parties", json={"kind": "beneficial_owner", "first_name": "Pieni",
                                               "last_name": "Osakas", "ownership_percent": "10"}).status_code == 400
    pep = admin.post(f"{path}/parties", json={"kind": "pep", "first_name": "Vaikuttaja", "last_name": "Poliitikko",
                                              "pep_position": "Member of Parliament", "relation": "Board member"})
    assert pep.status_code == 201
    verified = admin.patch(path, json={"status": "verified"})
    assert verified.status_code == 200 and verified.json()["verified_by"]
    assert len(verified.json()["beneficial_owners"]) == 1 and len(verified.json()["peps"]) == 1
    assert admin.patch(path, json={"status": "pending"}).status_code == 409
    assert admin.get(file_path).headers["X-Content-Type-Options"] == "nosniff"
    changed = admin.patch(path, json={"document_number": "ID112"})  # identifying data changed: verify again
    assert changed.status_code == 200 and changed.json()["status"] == "pending"
    assert changed.json()["document_number"] == "*****" and not changed.json()["verified_by"]

    person = make_person()
    _, manager = make_user("fleet_manager", organisation_id=company["id"])
    _, driver = make_user("driver", person_id=person["id"])
    for client in (manager, driver):
        assert client.get(path).status_code == 404
        assert client.get(file_path).status_code == 404
        assert client.get("/kyc/cases").status_code == 404
    assert admin.get(f"/kyc/cases/{uuid.uuid4()}").status_code == 404
    unknown = admin.post("/kyc/cases", json={"customer_id": str(uuid.uuid4())})
    assert unknown.status_code == 400 and "customer_id" in unknown.json()["details"]
    listed = admin.get("/kyc/cases", params={"customer_id": company["id"]}).json()["items"]
    assert [c["id"] for c in listed] == [case["id"]]
