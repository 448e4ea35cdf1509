"""The yearly driving log (ajopäiväkirja) as the Finnish tax administration asks for it:
per vehicle and user, each trip's date, start and end time, start and end place, odometer
at start and end, length, type and purpose, with totals. Rendered from handlers.driving_log."""
import csv
import functools
import io
import unicodedata

from shared.spreadsheet import safe_cell, safe_row

TRIP_TYPE_FI = {"work": "työajo", "private": "yksityisajo"}


def _time(value) -> str:
    return value.strftime("%H:%M") if value else ""


def _date_fi(value) -> str:
    return f"{value.day}.{value.month}.{value.year}"


def to_csv(log) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Päivämäärä", "Alkuaika", "Loppuaika", "Rekisteritunnus", "Kuljettaja", "Matkamittari alussa",
                     "Matkamittari lopussa", "Kilometrit", "Ajon laji", "Lähtöpaikka", "Määränpää",
                     "Ajon tarkoitus", "Selvitys välistä", "Kirjannut", "Kirjattu"])
    for section in log["vehicles"]:
        for trip in section["trips"]:
            writer.writerow(safe_row((
                trip.date.isoformat(), _time(trip.started_at), _time(trip.ended_at),
                section["registration_number"], log["driver"], trip.odometer_start, trip.odometer_end, trip.km,
                TRIP_TYPE_FI[trip.trip_type], trip.start_point, trip.end_point, trip.purpose,
                trip.gap_explanation, trip.added_by_name, trip.added_at.isoformat(timespec="seconds"))))
    totals = log["totals"]
    writer.writerow([])
    writer.writerow(["Vuosi", log["year"]])
    writer.writerow(["Työajo km", totals["work_km"]])
    writer.writerow(["Yksityisajo km", totals["private_km"]])
    writer.writerow(["Yhteensä km", totals["total_km"]])
    writer.writerow(["Matkamittari vuoden ensimmäisen ajon alussa", safe_cell(totals["first_odometer"])])
    writer.writerow(["Matkamittari vuoden viimeisen ajon lopussa", safe_cell(totals["last_odometer"])])
    return out.getvalue()


def _latin1(text) -> str:
    """The PDF core fonts cover Latin-1 (Finnish and Swedish letters included); other
    characters are written without their accents, else as '?'."""
    text = "" if text is None else str(text)
    return "".join(ch if ord(ch) < 256 else
                   (unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1") or "?")
                   for ch in text)


@functools.cache
def _log_pdf_class():
    """fpdf (with fontTools and Pillow, ~16 MB resident) is imported by the first PDF, not by
    every driver process at start."""
    from fpdf import FPDF

    class LogPdf(FPDF):
        def __init__(self, title):
            super().__init__(orientation="landscape", format="A4")
            self.title_text = title
            self.set_auto_page_break(auto=True, margin=14)
            self.set_title(title)

        def header(self):
            self.set_font("Helvetica", "B", 13)
            self.cell(0, 8, self.title_text, new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-11)
            self.set_font("Helvetica", "", 8)
            self.cell(0, 6, f"Sivu / Page {self.page_no()}/{{nb}}", align="R")

    return LogPdf


COLUMNS = (("Pvm\nDate", 19), ("Alku\nStart", 12), ("Loppu\nEnd", 12), ("Mittari alussa\nOdometer start", 22),
           ("Mittari lopussa\nOdometer end", 22), ("km", 12), ("Laji\nType", 19), ("Lähtöpaikka\nFrom", 34),
           ("Määränpää\nTo", 34), ("Tarkoitus / selvitys\nPurpose / note", 53), ("Kirjannut\nAdded by", 38))


def to_pdf(log) -> bytes:
    pdf = _log_pdf_class()(_latin1(f"Ajopäiväkirja / Driving log {log['year']}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "", 9)
    _facts(pdf, [("Kuljettaja / Driver", log["driver"] or ""),
                 ("Kausi / Period", f"1.1.{log['year']} - 31.12.{log['year']}"),
                 ("Laadittu / Generated", log["generated_at"].strftime("%d.%m.%Y %H:%M UTC"))])
    if not log["vehicles"]:
        pdf.cell(0, 8, _latin1("Ei merkintöjä / No entries"), new_x="LMARGIN", new_y="NEXT")
    for section in log["vehicles"]:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 10)
        vehicle = " ".join(filter(None, (section["registration_number"], section["make_model"])))
        pdf.cell(0, 7, _latin1(f"Ajoneuvo / Vehicle: {vehicle}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        _trips_table(pdf, section["trips"])
        _totals(pdf, "Ajoneuvon yhteensä / Vehicle totals", section["totals"])
    if len(log["vehicles"]) > 1:
        _totals(pdf, "Vuosi yhteensä / Year totals", log["totals"])
    return bytes(pdf.output())


def _facts(pdf, facts):
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(45, 6, _latin1(label))
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")


def _trips_table(pdf, trips):
    right = {3, 4, 5}
    with pdf.table(col_widths=[w for _, w in COLUMNS], line_height=4, first_row_as_headings=True,
                   repeat_headings=1) as table:
        heading = table.row()
        for label, _ in COLUMNS:
            heading.cell(_latin1(label))
        for trip in trips:
            note = "\n".join(filter(None, (trip.purpose, trip.gap_explanation and f"Väli / Gap: "
                                                                                 f"{trip.gap_explanation}")))
            added = f"{trip.added_by_name or ''}\n{trip.added_at.strftime('%d.%m.%Y %H:%M')} UTC"
            values = (_date_fi(trip.date), _time(trip.started_at), _time(trip.ended_at), trip.odometer_start,
                      trip.odometer_end, trip.km, TRIP_TYPE_FI[trip.trip_type], trip.start_point, trip.end_point,
                      note, added)
            row = table.row()
            for index, value in enumerate(values):
                row.cell(_latin1(value), align="R" if index in right else "L")


def _totals(pdf, title, totals):
    pdf.ln(1)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 6, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    _facts(pdf, [("Työajo / Work", f"{totals['work_km']} km"),
                 ("Yksityisajo / Private", f"{totals['private_km']} km"),
                 ("Yhteensä / Total", f"{totals['total_km']} km ({totals['trips']})"),
                 ("Mittari / Odometer", f"{totals['first_odometer']} - {totals['last_odometer']} km")])
