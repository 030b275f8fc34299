"""Rows built and saved cheaply: `portal.rows.Row` (the table models' constructor) and
`portal.db.insert_now` (one INSERT instead of a flush). Both must leave exactly what SQLModel and
the ORM would; these tests compare them on every table model, and on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import instrumentation
from sqlmodel import Session, SQLModel
from sqlmodel._compat import sqlmodel_init

import portal.models  # noqa: F401 (every table model, mapped)
from portal.clock import FixedClock
from portal.complaints.models import Complaint, ComplaintMessage
from portal.config import Settings
from portal.db import get_now, insert_now
from portal.history import Actor
from portal.mail import OutboxMessage
from portal.rows import Row
from tests.databases import statements_sent
from tests.factories import submit

TABLE_MODELS = sorted(
    (mapper.class_ for mapper in SQLModel._sa_registry.mappers), key=lambda model: model.__name__
)


def _as_sqlmodel_builds(model: type[SQLModel], **values: object) -> SQLModel:
    row = model.__new__(model)
    instrumentation.manager_of_class(model)._new_state_if_none(row)
    sqlmodel_init(self=row, data=dict(values))
    return row


def _made_by_factories(model: type[SQLModel]) -> set[str]:
    return {name for name, field in model.model_fields.items() if field.default_factory}


def test_every_table_model_builds_its_rows_with_row() -> None:
    assert len(TABLE_MODELS) > 40
    assert [model.__name__ for model in TABLE_MODELS if not issubclass(model, Row)] == []


@pytest.mark.parametrize("model", TABLE_MODELS, ids=lambda model: model.__name__)
def test_row_leaves_what_sqlmodel_leaves(model: type[SQLModel]) -> None:
    fields = list(model.model_fields)
    given = {name: None for name in fields[:2]} | {fields[-1]: None}
    ours = model(**given)
    theirs = _as_sqlmodel_builds(model, **given)
    fresh = _made_by_factories(model)  # a new random value each time: compared by presence
    mine = {key: value for key, value in vars(ours).items() if key != "_sa_instance_state"}
    other = {key: value for key, value in vars(theirs).items() if key != "_sa_instance_state"}
    assert mine.keys() == other.keys()
    assert {k: v for k, v in mine.items() if k not in fresh} == {
        k: v for k, v in other.items() if k not in fresh
    }
    assert ours.__pydantic_fields_set__ == theirs.__pydantic_fields_set__ == set(given)
    assert ours.__pydantic_extra__ is None and ours.__pydantic_private__ is None
    assert inspect(ours).transient


def test_a_mutable_default_is_not_shared_between_rows() -> None:
    for model in TABLE_MODELS:
        for name, field in model.model_fields.items():
            default = field.get_default(call_default_factory=True)
            if isinstance(default, list | dict | set):
                assert getattr(model(), name) is not getattr(model(), name)


def test_insert_now_saves_a_message_with_one_insert_as_a_flush_would(
    db_session: Session, settings: Settings, clock: FixedClock
) -> None:
    case = submit(db_session, settings)
    message = ComplaintMessage(
        complaint_id=case.id, kind="internal_note", author_type="staff", author_label="Office"
    )
    message.body = "Rang the parent back."
    sent = statements_sent(db_session.get_bind(), lambda: insert_now(db_session, message))

    work = [statement for statement in sent if not statement.startswith(("SAVEPOINT", "BEGIN"))]
    assert [statement.split(" ")[0:3] for statement in work] == [
        ["INSERT", "INTO", "complaint_message"]
    ]
    assert message.id is not None
    assert message.created_at == clock.now()  # stamped from the clock, as a flush stamps it
    state = inspect(message)
    assert state.persistent and not state.expired_attributes
    assert db_session.get(ComplaintMessage, message.id) is message
    db_session.commit()
    db_session.expire_all()
    saved = db_session.scalars(
        select(ComplaintMessage).where(ComplaintMessage.id == message.id)
    ).one()
    assert (saved.body, saved.author_label, saved.created_at) == (
        "Rang the parent back.",
        "Office",
        clock.now(),
    )


def test_a_row_saved_by_insert_now_flushes_its_later_changes(
    db_session: Session, settings: Settings
) -> None:
    case = submit(db_session, settings)
    email = OutboxMessage(to_address="parent@example.org", subject="Hello", body_text="Hi")
    insert_now(db_session, email)
    email.subject = "Hello again"
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(OutboxMessage, email.id).subject == "Hello again"  # type: ignore[union-attr]
    assert case.id is not None


def test_a_case_saved_by_insert_now_starts_its_version_where_the_orm_does(
    db_session: Session, settings: Settings, clock: FixedClock
) -> None:
    case = submit(db_session, settings)  # the final "Send" saves it with insert_now
    assert case.version == 1
    case.decision_notes = "Spoke to the parent."
    db_session.commit()
    assert case.version == 2  # the ORM's counter carried on from the INSERT's value
    db_session.expire_all()
    assert db_session.get(Complaint, case.id).version == 2  # type: ignore[union-attr]
    assert case.received_at is not None and case.received_at <= clock.now() + timedelta(seconds=1)


def test_get_now_reads_a_row_with_one_select_as_session_get_would(
    db_session: Session, settings: Settings
) -> None:
    case = submit(db_session, settings)
    db_session.commit()
    db_session.expunge_all()
    sent = statements_sent(db_session.get_bind(), lambda: get_now(db_session, Complaint, case.id))
    work = [statement for statement in sent if not statement.startswith(("SAVEPOINT", "BEGIN"))]
    assert len(work) == 1 and work[0].startswith("SELECT")
    read = get_now(db_session, Complaint, case.id)  # held by the session now: no statement
    assert read is not None and read is db_session.get(Complaint, case.id)
    state = inspect(read)
    assert state.persistent and not state.expired_attributes and not state.modified
    db_session.expunge_all()
    loaded = db_session.get(Complaint, case.id)
    assert {name: getattr(read, name) for name in Complaint.model_fields} == {
        name: getattr(loaded, name) for name in Complaint.model_fields
    }
    assert get_now(db_session, Complaint, 10**9) is None


def test_a_row_read_by_get_now_flushes_its_changes_and_keeps_its_version(
    db_session: Session, settings: Settings
) -> None:
    case = submit(db_session, settings)
    db_session.commit()
    db_session.expunge_all()
    read = get_now(db_session, Complaint, case.id)
    assert read is not None and read.version == 1
    read.decision_notes = "Read by key, then changed."
    db_session.commit()
    assert read.version == 2
    db_session.expunge_all()
    again = db_session.get(Complaint, case.id)
    assert again is not None
    assert (again.decision_notes, again.version) == ("Read by key, then changed.", 2)


def test_record_and_message_actors_are_kept(db_session: Session, settings: Settings) -> None:
    """The case's acknowledgement letter, saved by insert_now in the final "Send", reads back."""
    case = submit(db_session, settings)
    letters = db_session.scalars(
        select(ComplaintMessage).where(ComplaintMessage.complaint_id == case.id)
    ).all()
    assert [letter.author_type for letter in letters] == [Actor.system().kind]
