import pytest

from shared import validators
from shared.crypto import FieldCipher, blind_index, new_key
from shared.logging import redact_secrets


@pytest.mark.parametrize("value", ["131052-308T", "010101Y123N", "131052A308T", "131052a308t"])
def test_accepts_valid_national_ids_incl_2023_century_signs(value):
    assert validators.national_id(value) == value.upper()


@pytest.mark.parametrize("value", ["131052-308U", "321052-308T", "131052?308T", "", "abc"])
def test_rejects_invalid_national_ids_without_echoing_them(value):
    with pytest.raises(ValueError) as err:
        validators.national_id(value)
    assert value not in str(err.value) or not value


def test_masks_national_id_to_birth_date_and_century_sign():
    assert validators.mask_national_id("131052-308T") == "131052-****"


@pytest.mark.parametrize("raw, normalised", [("abc-123", "ABC-123"), ("ABC123", "ABC-123"), ("ÅÄÖ 12", "ÅÄÖ-12"),
                                             ("a1", "A-1")])
def test_normalises_finnish_plates(raw, normalised):
    assert validators.registration_number(raw) == normalised


@pytest.mark.parametrize("raw", ["ABCD-123", "AB-1234", "123", "ab", ""])
def test_rejects_malformed_plates(raw):
    with pytest.raises(ValueError):
        validators.registration_number(raw)


def test_vin_is_17_chars_without_i_o_q():
    assert validators.vin("wvwzzz1kzaw000001") == "WVWZZZ1KZAW000001"
    for bad in ("WVWZZZ1KZAW00000", "WVWZZZ1KZAW00000I", "OVWZZZ1KZAW000001"):
        with pytest.raises(ValueError):
            validators.vin(bad)


def test_business_id_checksum():
    assert validators.business_id("0737546-2") == "0737546-2"
    with pytest.raises(ValueError):
        validators.business_id("0737546-3")


def test_phone_to_e164():
    assert validators.phone("040 123 4567") == "+358401234567"
    with pytest.raises(ValueError):
        validators.phone("12")


def test_ovt_and_iban():
    assert validators.ovt("0037 0737546 2") == "003707375462"
    assert validators.iban("FI21 1234 5600 0007 85") == "FI2112345600000785"
    for bad_ovt in ("003707375463", "0036073754620"):
        with pytest.raises(ValueError):
            validators.ovt(bad_ovt)
    with pytest.raises(ValueError):
        validators.iban("FI21 1234 5600 0007 86")


def test_cipher_rotates_keys_and_old_values_still_decrypt():
    old, new = new_key(), new_key()
    token = FieldCipher([old]).encrypt("131052-308T")
    rotated_cipher = FieldCipher([new, old])
    assert rotated_cipher.decrypt(token) == "131052-308T"
    rotated = rotated_cipher.rotate(token)
    assert FieldCipher([new]).decrypt(rotated) == "131052-308T"
    assert "131052" not in rotated


def test_blind_index_is_keyed():
    assert blind_index("131052-308T", b"k1") == blind_index("131052-308T", b"k1")
    assert blind_index("131052-308T", b"k1") != blind_index("131052-308T", b"k2")


def test_log_redaction_also_catches_percent_encoded_national_ids():
    for encoded in ("/persons?national_id=131052%2D308T", "q=131052%2d308T&x=1", "%31%33%31%30%35%32-308T",
                    "010100%2B123H"):
        line = redact_secrets(None, "info", {"event": "http.unhandled", "path": encoded})
        assert "308T" not in line["path"] and "123H" not in line["path"], line
        assert "[redacted-national-id]" in line["path"]


def test_log_redaction_removes_national_ids_and_secrets():
    event = redact_secrets(None, "info", {"event": "x 131052-308T y", "password": "hunter2",
                                          "nested": {"token": "abc", "note": "010101Y123N"}})
    assert "131052-308T" not in str(event) and "010101Y123N" not in str(event)
    assert event["password"] == "[redacted]" and event["nested"]["token"] == "[redacted]"
