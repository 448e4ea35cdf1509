"""The portal's forms; field names are the API body's field names (see web.forms)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired


class SettingsForm(FlaskForm):
    contract_reminder_days = StringField(_l("Remind of contracts ending (days before)"), validators=[DataRequired()],
                                         render_kw={"type": "number", "min": 1, "max": 730, "required": True})
