"""Flask-WTF forms: each one carries its CSRF token and its validation rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from .extensions import db
from .models import STATUSES, User


class LoginForm(FlaskForm):
    """Log in, optionally with a long-lived "remember me" cookie."""

    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Remember me")


class RegistrationForm(FlaskForm):
    """Create an account."""

    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Length(min=3, max=32),
            Regexp(r"^[A-Za-z0-9_.-]+$", message="Use letters, digits, '.', '-' or '_' only."),
        ],
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords must match.")]
    )

    def validate_username(self, field: StringField) -> None:
        """Usernames are unique (compared without regard to case)."""
        taken = db.session.scalar(
            select(User.id).where(db.func.lower(User.username) == field.data.lower())
        )
        if taken is not None:
            raise ValidationError("That username is already taken.")


class TaskForm(FlaskForm):
    """Create or edit a task; the JSON API validates its input with it too."""

    title = StringField("Title", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    status = SelectField(
        "Column",
        choices=[SelectChoice(value, label) for value, label in STATUSES.items()],
        default="todo",
    )
