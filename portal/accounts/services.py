"""The rules for staff accounts: passwords, sign-in throttling, sessions and roles."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from limits.strategies import RateLimiter
from pwdlib import PasswordHash
from sqlalchemy import delete, func, select
from sqlmodel import Session

from portal.accounts.models import Role, StaffSession, StaffUser
from portal.accounts.passwords import password_problem
from portal.config import Settings
from portal.db import now_of
from portal.domains import installed
from portal.history import Actor, record_event
from portal.mail import InvalidAddress, normalised_address
from portal.signing import token_digest
from portal.throttle import Limit, Throttle

password_hash = PasswordHash.recommended()
_UNKNOWN_USER_HASH = password_hash.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
EMAIL_MAX_CHARS = 320


class SignInRefused(Exception):
    """Why a sign-in failed, in words safe to show: never says whether the email exists."""


class AccountError(ValueError):
    """A staff account change that breaks a rule; the message is shown next to the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return password_hash.hash(password)


def find_user_by_email(session: Session, email: str) -> StaffUser | None:
    return session.scalars(
        select(StaffUser).where(StaffUser.email == normalise_email(email))
    ).first()


def validate_password(password: str, *, personal: Iterable[str] = ()) -> None:
    """Long enough, not too long, and not on (or close to) the shipped list of common passwords.

    `personal`: the person's name and email and the school's name, which it must not be built on.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            "password", f"Enter a password that is at least {MIN_PASSWORD_LENGTH} characters long"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            "password", f"Enter a password that is {MAX_PASSWORD_LENGTH} characters or fewer"
        )
    problem = password_problem(password, personal=personal)
    if problem:
        raise AccountError("password", problem)


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    roles: Iterable[Role],
    actor: Actor | None = None,
    avoid: Iterable[str] = (),
) -> StaffUser:
    """A new staff account. `avoid`: words the password must not be built on (the school's name).

    The domains hear of the roles given (`roles_given`): giving someone a role that reads cases
    tells the head and the chair, unless the portal itself (`Actor.system()`: demo data, set-up)
    makes the account.
    """
    if not name.strip():
        raise AccountError("name", "Enter the person's full name")
    try:
        email = normalise_email(normalised_address(email))
    except InvalidAddress as error:
        raise AccountError("email", error.message) from None
    if find_user_by_email(session, email):
        raise AccountError("email", "A staff account with this email address already exists")
    validate_password(password, personal=[name, email, *avoid])
    role_set = _checked_roles(roles)
    user = StaffUser(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role_names=" ".join(sorted(role_set)),
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        subject_type="staff_user",
        subject_id=user.id,
        tag="account:create",
        actor=actor or Actor.system(),
        to_value=user.role_names,
    )
    roles_given(session, user, role_set, actor=actor or Actor.system())
    return user


def _checked_roles(roles: Iterable[Role | str]) -> set[Role]:
    role_set = {Role(role) for role in roles}
    if not role_set:
        raise AccountError("roles", "Select at least one role")
    return role_set


def change_details(
    session: Session, user: StaffUser, *, name: str, roles: Iterable[Role | str], actor: Actor
) -> None:
    if not name.strip():
        raise AccountError("name", "Enter the person's full name")
    role_set = _checked_roles(roles)
    new_roles = " ".join(sorted(role_set))
    if Role.admin in user.roles and Role.admin not in role_set:
        _refuse_losing_last_admin(session, user, "roles")
    if new_roles != user.role_names:
        record_event(
            session,
            subject_type="staff_user",
            subject_id=user.id,
            tag="account:roles",
            actor=actor,
            from_value=user.role_names,
            to_value=new_roles,
        )
    added = role_set - user.roles
    user.name = name.strip()
    user.role_names = new_roles
    session.add(user)
    if user.is_active:
        roles_given(session, user, added, actor=actor)


def set_active(session: Session, user: StaffUser, *, active: bool, actor: Actor) -> None:
    """Disabling a user also signs them out everywhere, at once."""
    if user.is_active == active:
        return
    if not active:
        if actor.user_id == user.id:
            raise AccountError("account", "You cannot disable your own account")
        if Role.admin in user.roles:
            _refuse_losing_last_admin(session, user, "account")
        session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    user.is_active = active
    session.add(user)
    record_event(
        session,
        subject_type="staff_user",
        subject_id=user.id,
        tag="account:enable" if active else "account:disable",
        actor=actor,
    )
    if active:
        roles_given(session, user, user.roles, actor=actor)


def set_password(
    session: Session, user: StaffUser, password: str, *, actor: Actor, avoid: Iterable[str] = ()
) -> None:
    validate_password(password, personal=[user.name, user.email, *avoid])
    user.password_hash = hash_password(password)
    session.add(user)
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    record_event(
        session, subject_type="staff_user", subject_id=user.id, tag="account:password", actor=actor
    )


# ---------------------------------------------------------------- telling the domains of new roles


def roles_given(session: Session, user: StaffUser, roles: Iterable[Role], *, actor: Actor) -> None:
    """Tell every installed domain that `user` now holds `roles` (newly given, or given back by
    enabling the account), in the caller's transaction: the complaints domain tells the head and
    the chair when someone can now read cases (`Domain.on_roles_given`)."""
    given = frozenset(Role(role) for role in roles)
    for domain in installed().domains:
        if domain.on_roles_given is not None:
            domain.on_roles_given(session, user, given, actor)


def _refuse_losing_last_admin(session: Session, user: StaffUser, field: str) -> None:
    admins = session.scalars(select(StaffUser).where(StaffUser.is_active.is_(True))).all()
    if not any(Role.admin in other.roles for other in admins if other.id != user.id):
        raise AccountError(field, "The portal needs at least one active administrator")


def list_users(session: Session) -> list[StaffUser]:
    return list(
        session.scalars(select(StaffUser).order_by(StaffUser.is_active.desc(), StaffUser.name))
    )


@dataclass(frozen=True)
class SignInThrottle:
    """Sign-in attempts, counted before the password is checked, in three moving windows.

    - per account *and* address: the lockout a person meets after a few wrong passwords. It only
      locks that account from that address, so strangers elsewhere cannot lock a member of staff
      out of the portal from the school's own network;
    - per address, across all accounts: one address guessing many accounts;
    - per account, across all addresses: a much higher ceiling against a guessing attack spread
      over many addresses.
    """

    throttle: Throttle
    per_pair: Limit
    per_address: Limit
    per_account: Limit

    @classmethod
    def from_settings(cls, limiter: RateLimiter, settings: Settings) -> SignInThrottle:
        minutes = settings.sign_in_lockout_minutes
        return cls(
            throttle=Throttle(limiter),
            per_pair=Limit.per_minutes(
                "sign-in-account-address", settings.sign_in_failures_allowed, minutes
            ),
            per_address=Limit.per_minutes(
                "sign-in-address", settings.sign_in_attempts_per_address, minutes
            ),
            per_account=Limit.per_minutes(
                "sign-in-account", settings.sign_in_attempts_per_account, minutes
            ),
        )

    def attempt(self, email: str, address: str) -> bool:
        """Count this attempt; False when any of the three limits is used up (then refuse)."""
        refused = self.throttle.attempt_all(
            (self.per_pair, (email, address)),
            (self.per_address, (address,)),
            (self.per_account, (email,)),
        )
        return refused is None

    def succeeded(self, email: str, address: str) -> None:
        """The right password: that person's earlier typos from that address are forgiven."""
        self.throttle.reset(self.per_pair, email, address)


def authenticate(
    session: Session, throttle: SignInThrottle, *, email: str, password: str, address: str
) -> StaffUser:
    """Check a sign-in. An unknown email and a wrong password cost the same and read the same.

    The attempt is counted before the password is checked, so a burst of parallel guesses gets
    no more checks than the limit allows, and the right password sent during the burst is refused
    like any other attempt once the limit is used up.
    """
    email = normalise_email(email)[:EMAIL_MAX_CHARS]
    if not throttle.attempt(email, address):
        raise SignInRefused(
            f"There have been too many attempts to sign in. "
            f"Wait {throttle.per_pair.item.multiples} minutes, then try again."
        )
    user = find_user_by_email(session, email)
    if user is None:
        password_hash.verify(password, _UNKNOWN_USER_HASH)
        raise SignInRefused("Enter a correct email address and password")
    valid, new_hash = password_hash.verify_and_update(password, user.password_hash)
    if not valid:
        record_event(
            session,
            subject_type="staff_user",
            subject_id=user.id,
            tag="account:sign-in-failed",
            actor=Actor("visitor", address),
        )
        session.commit()  # recorded though the attempt is refused (see "One transaction rule")
        raise SignInRefused("Enter a correct email address and password")
    if not user.is_active:
        raise SignInRefused(
            "Your account has been switched off. Ask the portal administrator if you need it back."
        )
    if new_hash:
        user.password_hash = new_hash
    throttle.succeeded(email, address)
    return user


def start_session(session: Session, user: StaffUser, *, replacing: str | None = None) -> str:
    """A fresh token at every sign-in (session fixation defence); any old one is thrown away."""
    if replacing:
        session.execute(
            delete(StaffSession).where(StaffSession.token_hash == token_digest(replacing))
        )
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=token_digest(token), user_id=user.id))
    user.last_signed_in_at = now_of(session)
    session.add(user)
    record_event(
        session,
        subject_type="staff_user",
        subject_id=user.id,
        tag="account:sign-in",
        actor=Actor.staff(user),
    )
    return token


def end_session(session: Session, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == token_digest(token)))


def user_for_token(session: Session, token: str, settings: Settings) -> StaffUser | None:
    """The signed-in user, or None once the session is idle too long or too old."""
    now = now_of(session)
    row = session.get(StaffSession, token_digest(token))
    if row is None:
        return None
    too_idle = now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    too_old = now - row.created_at > timedelta(hours=settings.session_max_hours)
    user = session.get(StaffUser, row.user_id)
    if too_idle or too_old or user is None or not user.is_active:
        session.delete(row)
        session.commit()  # housekeeping before any route code (see "One transaction rule")
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return user


def count_active_sessions(session: Session, user: StaffUser) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(StaffSession).where(StaffSession.user_id == user.id)
        )
        or 0
    )
