"""The forms of staff sign-in and of the admin pages for staff accounts (`portal.forms`).

They check what the form alone can tell (something typed, a length the column holds, roles that
exist); the account rules (a strong password, one account per address...) are the service's.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.models import Role
from portal.forms import Checked, PostedForm, Text, Ticked

NAME_LIMIT = 200  # staff_user.name
EMAIL_LIMIT = 320  # staff_user.email


def _fits(name: str, email: str = "") -> dict[str, str]:
    """Lengths the database columns hold (PostgreSQL refuses longer text with an error)."""
    if len(name.strip()) > NAME_LIMIT:
        return {"name": f"The name must be {NAME_LIMIT} characters or fewer"}
    if len(email.strip()) > EMAIL_LIMIT:
        return {"email": f"The email address must be {EMAIL_LIMIT} characters or fewer"}
    return {}


def _chosen(roles: list[str] | None) -> list[str]:
    return [role for role in roles or [] if role in Role.__members__]


@dataclass(frozen=True)
class SignInForm(PostedForm):
    email: Text = ""
    password: Text = ""
    next: Text = "/staff"

    def validate(self) -> Checked[None]:
        errors: dict[str, str] = {}
        if not self.email.strip():
            errors["email"] = "Enter your email address"
        if not self.password:
            errors["password"] = "Enter your password"  # noqa: S105 - a message, not a password
        return Checked(None, errors)

    def shown_again(self) -> dict[str, str]:
        """What the page shows again: the address, never the password."""
        return {"email": self.email}


@dataclass(frozen=True)
class Account:
    """A new account or a change to one, as the service takes it."""

    name: str
    roles: list[str]
    email: str = ""
    password: str = ""


@dataclass(frozen=True)
class NewAccountForm(PostedForm):
    name: Text = ""
    email: Text = ""
    password: Text = ""
    roles: Ticked = None

    def validate(self) -> Checked[Account]:
        account = Account(self.name, _chosen(self.roles), self.email, self.password)
        return Checked(account, _fits(self.name, self.email))


@dataclass(frozen=True)
class AccountForm(PostedForm):
    """An account's name and roles, changed by an admin."""

    name: Text = ""
    roles: Ticked = None

    def validate(self) -> Checked[Account]:
        return Checked(Account(self.name, _chosen(self.roles)), _fits(self.name))


@dataclass(frozen=True)
class ActiveForm(PostedForm):
    """ "yes" lets the person sign in; anything else stops them."""

    active: Text = ""

    @property
    def allowed(self) -> bool:
        return self.active == "yes"


@dataclass(frozen=True)
class NewPasswordForm(PostedForm):
    new_password: Text = ""
