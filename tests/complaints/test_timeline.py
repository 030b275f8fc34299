"""Every history tag the complaints write has a constant and a sentence on the timeline."""

from __future__ import annotations

import re
from pathlib import Path

from portal.complaints.models import MessageKind
from portal.complaints.timeline import SENTENCES, Tag, describe, message_tag
from portal.history import HistoryEvent

COMPLAINTS = Path(__file__).resolve().parents[2] / "portal" / "complaints"


def test_every_tag_the_code_writes_is_a_constant_with_a_sentence():
    written = set()
    for path in COMPLAINTS.glob("*.py"):
        written |= set(re.findall(r'"(complaint:[a-z_:-]+)"', path.read_text()))
    messages = {message_tag(kind) for kind in MessageKind}
    written = {tag for tag in written if not tag.endswith(":") and tag not in messages}
    assert written <= {tag.value for tag in Tag}, written - {tag.value for tag in Tag}
    assert set(SENTENCES) == set(Tag)


def test_each_event_reads_as_a_sentence_not_its_tag():
    for tag in Tag:
        event = HistoryEvent(
            subject_type="complaint",
            subject_id="1",
            tag=tag.value,
            actor_type="staff",
            actor_label="Janet Okafor",
            from_value="open",
            to_value="2026-12-09",
        )
        assert describe(event) != tag.value
    letter = HistoryEvent(
        subject_type="complaint",
        subject_id="1",
        tag=message_tag(MessageKind.stage1_letter),
        actor_type="staff",
        actor_label="David Morgan",
    )
    assert describe(letter) == "Response letter sent"
    unknown = HistoryEvent(
        subject_type="complaint", subject_id="1", tag="complaint:future", actor_type="system"
    )
    assert describe(unknown) == "complaint:future"
