"""Schemathesis hooks of tests/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS): valid values
for the formats gateway/openapi.py names where a `pattern` cannot say everything (checksums,
numbering plans). A value that matches a pattern but fails its checksum is refused with 400,
and the document says so by naming the format; these strategies make the values that format
means, so schemathesis's positive_data_acceptance tests what the API promises."""
import schemathesis
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum.fi import hetu

HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY = {"+": 1800, "-": 1900, "A": 2000}


@st.composite
def national_ids(draw) -> str:
    sign = draw(st.sampled_from(sorted(CENTURY)))
    day, month, year = draw(st.integers(1, 28)), draw(st.integers(1, 12)), draw(st.integers(0, 99))
    individual = draw(st.integers(2, 899))
    number = f"{day:02d}{month:02d}{year:02d}{individual:03d}"
    value = f"{day:02d}{month:02d}{year:02d}{sign}{individual:03d}{HETU_CHECK[int(number) % 31]}"
    assert hetu.is_valid(value), value
    return value


def _with_check_digit(base: str) -> str | None:
    check = -sum(weight * int(digit) for weight, digit in zip((7, 9, 10, 5, 8, 4, 2), base)) % 11
    return None if check == 10 else f"{base}-{check}"


business_ids = st.integers(0, 9999999).map(lambda n: _with_check_digit(f"{n:07d}")).filter(bool).flatmap(
    lambda value: st.sampled_from([value, value.replace("-", "")]))


@st.composite
def ibans(draw) -> str:
    account = f"{draw(st.integers(0, 10 ** 14 - 1)):014d}"
    check = stdnum_iban.calc_check_digits("FI00" + account)
    return f"FI{check}{account}"


@st.composite
def ovts(draw) -> str:
    business_id = draw(business_ids).replace("-", "")
    return "0037" + business_id + draw(st.from_regex(r"\A[0-9A-Z]{0,5}\Z"))


phones = st.integers(1000000, 9999999).map(lambda n: f"+35840{n}") | st.integers(1000000, 9999999).map(
    lambda n: f"050 {n}")

schemathesis.openapi.format("fi-hetu", national_ids())
schemathesis.openapi.format("fi-ytunnus", business_ids)
schemathesis.openapi.format("phone", phones)
schemathesis.openapi.format("iban", ibans())
schemathesis.openapi.format("fi-ovt", ovts())
schemathesis.openapi.format("fi-e-invoice-address", ovts() | ibans())
# a cursor is whatever `next_cursor` said; a client cannot make one up, so none is sent
schemathesis.openapi.format("cursor", st.just(""))
