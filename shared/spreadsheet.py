"""CSV cells a spreadsheet opens safely: a text starting with = + - @, tab or CR would be
read as a formula (CSV injection), so it gets a leading apostrophe; numbers stay numbers."""
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not NUMBER.match(text):
        return "'" + text
    return text


def safe_row(values) -> list[str]:
    return [safe_cell(value) for value in values]
