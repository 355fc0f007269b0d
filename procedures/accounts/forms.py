"""Sign-in and user forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, Optional

from procedures.core.forms import as_choices
from procedures.vocabulary import (
    ROLES,
)


class LoginForm(FlaskForm):
    """Sign in with login and password."""

    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Sign in"))


class UserForm(FlaskForm):
    """Create a user."""

    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8)])
    role = SelectField(_l("Role"))
    division = SelectField(_l("Division"), validators=[Optional()])
    submit = SubmitField(_l("Create user"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = as_choices(ROLES.items())
