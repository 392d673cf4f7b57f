"""Database models: users and the tasks on the board."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db, login_manager

#: The board's columns, in order: stored value -> label.
STATUSES: dict[str, str] = {"todo": "To do", "doing": "In progress", "done": "Done"}


def utcnow() -> datetime:
    """The current time as a naive UTC datetime (SQLite stores no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


class User(UserMixin, db.Model):
    """A member of the team."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    last_login_ip: Mapped[str | None] = mapped_column(String(45))

    tasks: Mapped[list[Task]] = relationship(back_populates="author")

    def set_password(self, password: str) -> None:
        """Store a salted hash of ``password``, never the password itself."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Whether ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.username!r}>"


class Task(db.Model):
    """A card on the board."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="todo", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))

    author: Mapped[User] = relationship(back_populates="tasks")

    @property
    def status_label(self) -> str:
        """The human name of the task's column."""
        return STATUSES.get(self.status, self.status)

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.title!r}>"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's hook: the user stored in the session (or remember cookie)."""
    return db.session.get(User, int(user_id))
