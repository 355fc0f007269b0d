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
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from procedures.accounts.users import MIN_PASSWORD_LENGTH, password_problem
from procedures.core.forms import as_choices
from procedures.models import Role
from procedures.vocabulary import (
    ROLES,
)

#: Why an account change is refused, by UserError code: (the form field, the message).
USER_ERRORS = {
    "login_empty": ("login", _l("Enter a login.")),
    "login_taken": ("login", _l("This login is taken already. Choose another.")),
    "password_too_short": (
        "password",
        _l(
            "The password is too short: it needs at least %(minimum)s characters.",
            minimum=MIN_PASSWORD_LENGTH,
        ),
    ),
    "password_same_as_login": (
        "password",
        _l("The password must not be the same as the login."),
    ),
    "division_needed": ("division", _l("A division user needs a division: choose one.")),
    "no_such_division": ("division", _l("There is no such division. Choose one from the list.")),
    "last_admin": (
        None,
        _l("This is the last active administrator. Make another user an administrator first."),
    ),
    "self": (None, _l("You cannot deactivate your own account.")),
}


class PasswordRules:
    """Refuse a password that breaks the rules of `password_problem`, saying which.

    The login it must differ from is the form's `login` field, or `form.login_for_rules`.
    """

    def __call__(self, form: FlaskForm, field: PasswordField) -> None:
        """Raise ValidationError with the rule the password breaks."""
        login = getattr(form, "login_for_rules", None)
        if login is None and "login" in form:
            login = form["login"].data
        problem = password_problem(field.data or "", login=login or "")
        if problem is not None:
            raise ValidationError(str(USER_ERRORS[problem][1]))


def _division_when_needed(form: FlaskForm, field: SelectField) -> None:
    """A division user needs a division."""
    if form["role"].data == Role.division.value and not field.data:
        raise ValidationError(str(USER_ERRORS["division_needed"][1]))


class LoginForm(FlaskForm):
    """Sign in with login and password."""

    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Sign in"))


class UserForm(FlaskForm):
    """Create a user: the least privilege (viewer) unless the admin chooses more."""

    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), PasswordRules()],
        description=_l(
            "At least %(minimum)s characters, not the same as the login.",
            minimum=MIN_PASSWORD_LENGTH,
        ),
    )
    role = SelectField(_l("Role"), default=Role.viewer.value)
    division = SelectField(
        _l("Division"),
        validators=[_division_when_needed],
        description=_l("Only for a division user: the division they edit and upload for."),
    )
    submit = SubmitField(_l("Create user"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = as_choices(ROLES.items())


class EditUserForm(FlaskForm):
    """Change a user's role and division."""

    role = SelectField(_l("Role"))
    division = SelectField(
        _l("Division"),
        validators=[_division_when_needed],
        description=_l("Only for a division user: the division they edit and upload for."),
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = as_choices(ROLES.items())


class OneTimePasswordForm(FlaskForm):
    """Set a password the user must change at their next sign-in."""

    password = PasswordField(
        _l("One-time password"),
        validators=[DataRequired(), PasswordRules()],
        description=_l(
            "Tell it to the user in person. At least %(minimum)s characters, not the same as "
            "the login. The user must choose a new password at the next sign-in; their "
            "sessions end now.",
            minimum=MIN_PASSWORD_LENGTH,
        ),
    )
    submit = SubmitField(_l("Set one-time password"))


class ChangePasswordForm(FlaskForm):
    """Change one's own password."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), PasswordRules()],
        description=_l(
            "At least %(minimum)s characters, not the same as your login.",
            minimum=MIN_PASSWORD_LENGTH,
        ),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
    )
    submit = SubmitField(_l("Change password"))

    def __init__(self, *args, login: str, **kwargs):
        super().__init__(*args, **kwargs)
        #: The login the new password must differ from (PasswordRules).
        self.login_for_rules = login
