"""The consent settings page: the uses parents answer for (add, rename, new wording versions,
asking again, naming, order, retire), how long an answer lasts, who reads a flag's reason.
Every change is one history event shown as "last changed by"; only admins change anything;
what was typed comes back with a clear message; a page showing an older state is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.consent.models import ConsentRecord, ConsentSettings, FlagKind, Pupil, Purpose
from portal.consent.services import answers, flags
from portal.consent.services import settings as rules
from portal.consent.services.answers import Answer, Why
from portal.consent.services.purposes import purposes
from portal.db import now_of
from portal.history import HistoryEvent
from tests.conftest import csrf_of, page, text_of
from tests.consent.helpers import ROWS, evidence_kwargs, import_file, pupil_file
from tests.factories import make_user, sign_in
from tests.hostile import HOSTILE_TEXT

BASE = "/staff/consent-settings"


@pytest.fixture
def admin(client, db_session):
    user = make_user(db_session, Role.admin, name="Priya Shah")
    sign_in(client, user)
    return user


def post(client, url: str, data: dict, *, from_page: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(from_page or url))
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def by_key(db_session, key: str) -> Purpose:
    db_session.expire_all()
    return next(p for p in purposes(db_session, include_retired=True) if p.key == key)


def cards(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.text.strip() for h in page(response).select("#active-purposes h3")]


# ---------------------------------------------------------------- the overview


def test_the_page_shows_the_defaults_until_an_admin_changes_them(client, admin):
    response = client.get(BASE)
    assert response.status_code == 200
    shown = page(response)
    assert shown.select_one("h1").text == "Consent settings"
    names = [h.text.strip() for h in shown.select(".govuk-summary-card__title")]
    assert names == [
        "Displays in school",
        "School website",
        "School social media",
        "Newsletter and prospectus",
        "Local press",
        "Video",
    ]
    text = text_of(response)
    assert "Each school year, from 1 September" in text
    assert "Head teacher, Office staff" in text or "Office staff, Head teacher" in text
    assert "No changes yet" in text
    menu = [a.text.strip() for a in shown.select("a")]
    assert "Consent settings" in menu


def test_only_admins_reach_any_settings_route(app, client, db_session):
    routes = [
        ("GET", BASE),
        ("GET", BASE + "/how-long"),
        ("POST", BASE + "/how-long"),
        ("GET", BASE + "/safeguarding"),
        ("POST", BASE + "/safeguarding"),
        ("GET", BASE + "/purposes/new"),
        ("POST", BASE + "/purposes/new"),
        ("GET", BASE + "/purposes/1"),
        ("POST", BASE + "/purposes/1"),
        ("POST", BASE + "/purposes/1/retire"),
        ("POST", BASE + "/purposes/1/restore"),
        ("POST", BASE + "/purposes/1/move"),
    ]
    for role in Role:
        client.cookies.clear()
        sign_in(client, make_user(db_session, role))
        token = csrf_of(client.get("/staff/login"))
        for method, url in routes:
            if method == "GET":
                code = client.get(url, follow_redirects=False).status_code
            else:
                code = client.post(
                    url, data={"csrf_token": token, "validity": "while_at_school"}
                ).status_code
            assert (code == 403) == (role != Role.admin), f"{role} {method} {url}: {code}"
            assert code < 500
    db_session.expire_all()
    assert db_session.scalar(select(HistoryEvent).where(HistoryEvent.tag.like("consent:%"))) is None


def test_the_service_refuses_anyone_but_an_admin(db_session):
    office = make_user(db_session, Role.office, Role.head)
    with pytest.raises(rules.SettingsRefused, match="Only a portal administrator"):
        rules.save_validity(db_session, office, answers.Validity.key_stage, seen_revision=0)
    with pytest.raises(rules.SettingsRefused):
        rules.add_purpose(db_session, office, "Trips", "Photos on trips.", False)


# ---------------------------------------------------------------- how long an answer lasts


def test_changing_how_long_an_answer_lasts_is_recorded_and_shown(client, db_session, admin):
    form = client.get(BASE + "/how-long")
    assert page(form).select_one("legend h1").text.strip() == "How long an answer lasts"
    assert page(form).select_one("#validity[checked]") is not None  # the current one
    response = post(client, BASE + "/how-long", {"validity": "while_at_school", "seen": "0"})
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.scalar(select(ConsentSettings)).validity == "while_at_school"
    event = db_session.scalar(select(HistoryEvent).where(HistoryEvent.tag == rules.VALIDITY_TAG))
    assert (event.actor_user_id, event.from_value, event.to_value) == (
        admin.id,
        "school_year",
        "while_at_school",
    )
    overview = client.get(BASE)
    assert "While the child is at the school" in text_of(overview)
    changed = page(overview).select_one("#validity-changed").text
    assert changed.startswith("Last changed by Priya Shah on ")
    assert "How long an answer lasts" in page(overview).select_one("#changes").find_next("ol").text
    # The same choice again changes nothing and adds no event.
    post(client, BASE + "/how-long", {"validity": "while_at_school", "seen": "1"})
    db_session.expire_all()
    events = db_session.scalars(select(HistoryEvent).where(HistoryEvent.tag == rules.VALIDITY_TAG))
    assert len(events.all()) == 1


@pytest.mark.parametrize("value", ["", "forever", "School_Year", "9" * 40, "<b>x</b>", "\u202e"])
def test_how_long_says_what_to_do_with_anything_else(client, db_session, admin, value):
    response = post(client, BASE + "/how-long", {"validity": value, "seen": "0"})
    assert response.status_code == 422
    assert "Choose how long an answer lasts" in text_of(response)
    assert page(response).select_one("title").text.startswith("Error: ")


def test_a_page_showing_older_settings_is_refused_and_says_what_is_there_now(
    client, db_session, admin
):
    assert post(client, BASE + "/how-long", {"validity": "key_stage", "seen": "0"}).status_code
    response = post(client, BASE + "/how-long", {"validity": "while_at_school", "seen": "0"})
    assert response.status_code == 409
    assert "Another administrator changed the consent settings" in text_of(response)
    assert "Each key stage" in text_of(response)
    assert page(response).select_one("#validity-3[checked]") is not None  # what was chosen
    assert page(response).select_one("input[name=seen]")["value"] == "1"
    db_session.expire_all()
    assert db_session.scalar(select(ConsentSettings)).validity == "key_stage"


def test_the_validity_setting_decides_lapsing(client, db_session, admin, clock):
    office = make_user(db_session, Role.office)
    import_file(client, pupil_file(*ROWS))
    amelia = db_session.scalar(select(Pupil).where(Pupil.mis_id == "A001"))
    website = by_key(db_session, "website")
    answers.record_answers(
        db_session,
        office,
        amelia,
        _contact(db_session, "sarah@example.com"),
        answers.AnswerHow.phone,
        [Answer(website, True, True)],
        call_note="Rang",
    )
    db_session.commit()
    clock.set(clock.now().replace(year=clock.now().year + 1, month=9, day=20))
    sign_in(client, admin)
    assert _decision(db_session, amelia, website).why is Why.lapsed
    post(client, BASE + "/how-long", {"validity": "while_at_school", "seen": "0"})
    assert _decision(db_session, amelia, website).allowed


# ---------------------------------------------------------------- who reads a flag's reason


def test_flag_roles_need_at_least_one_known_role(client, db_session, admin):
    response = post(client, BASE + "/safeguarding", {"seen": "0"})
    assert response.status_code == 422
    assert "Choose at least one role that may read why a pupil is restricted" in text_of(response)
    response = post(client, BASE + "/safeguarding", {"flag_roles": ["head", "wizard"], "seen": "0"})
    assert response.status_code == 422
    assert "Choose only from the roles listed" in text_of(response)
    # What was ticked comes back ticked.
    assert page(response).select_one("input[value=head][checked]") is not None
    assert db_session.scalar(select(ConsentSettings)) is None


def test_changing_flag_roles_changes_who_reads_the_reason(client, db_session, admin):
    office = make_user(db_session, Role.office)
    leader = make_user(db_session, Role.senior_leader)
    import_file(client, pupil_file(*ROWS))
    amelia = db_session.scalar(select(Pupil).where(Pupil.mis_id == "A001"))
    flags.set_flag(db_session, office, amelia, FlagKind.adopted, "Keep private")
    db_session.commit()
    sign_in(client, admin)
    assert not flags.may_see_reason(db_session, leader)
    response = post(
        client, BASE + "/safeguarding", {"flag_roles": ["head", "senior_leader"], "seen": "0"}
    )
    assert response.status_code == 303
    db_session.expire_all()
    assert flags.may_see_reason(db_session, leader)
    assert not flags.may_see_reason(db_session, office)
    event = db_session.scalar(select(HistoryEvent).where(HistoryEvent.tag == rules.FLAG_ROLES_TAG))
    assert event.details["from"] == ["head", "office"]
    assert event.details["to"] == ["head", "senior_leader"]
    assert "Keep private" not in (event.detail or "")
    overview = text_of(client.get(BASE))
    assert "Head teacher, Senior leader" in overview
    assert "From “Head teacher, Office staff” to “Head teacher, Senior leader”" in overview


# ---------------------------------------------------------------- the uses


def test_an_admin_adds_a_use_and_staff_and_parents_are_asked_it(client, db_session, admin):
    response = post(
        client,
        BASE + "/purposes/new",
        {"name": "  School   trips ", "wording": "Photos from school trips.", "asks_naming": "no"},
    )
    assert response.status_code == 303
    trips = by_key(db_session, "school_trips")
    assert (trips.name, trips.version, trips.position, trips.active) == (
        "School trips",
        1,
        7,
        True,
    )
    assert cards(client.get(BASE))[-1] == "School trips"
    event = db_session.scalar(
        select(HistoryEvent).where(HistoryEvent.tag == rules.PURPOSE_ADDED_TAG)
    )
    assert event.subject_id == str(trips.id) and event.actor_user_id == admin.id
    # The answers form and the photo check follow the school's uses.
    office = make_user(db_session, Role.office)
    sign_in(client, office)
    import_file(client, pupil_file(*ROWS))
    amelia = db_session.scalar(select(Pupil).where(Pupil.mis_id == "A001"))
    form = client.get(f"/staff/pupils/{amelia.id}/answers")
    assert page(form).select_one("#answer_school_trips") is not None
    sarah = _contact(db_session, "sarah@example.com")
    response = client.post(
        f"/staff/pupils/{amelia.id}/answers",
        data={
            "csrf_token": csrf_of(form),
            "contact_id": str(sarah),
            "how": "phone",
            "call_note": "Sarah rang",
            "answer_school_trips": "yes",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    check = client.get("/staff/photo-check")
    assert "School trips" in text_of(check)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "wording": "x", "asks_naming": "no"}, "name", "Enter a name for this use"),
        ({"name": "x" * 101, "wording": "x", "asks_naming": "no"}, "name", "100 characters"),
        ({"name": "Trips", "wording": " ", "asks_naming": "no"}, "wording", "Enter the words"),
        ({"name": "Trips", "wording": "x" * 1001, "asks_naming": "no"}, "wording", "1,000"),
        ({"name": "Trips", "wording": "x", "asks_naming": "9" * 30}, "asks_naming", "naming"),
        ({"name": "video", "wording": "x", "asks_naming": "no"}, "name", "already a use called"),
    ],
)
def test_adding_a_use_says_what_is_wrong_and_keeps_what_was_typed(
    client, db_session, admin, data, field, message
):
    response = post(client, BASE + "/purposes/new", data)
    assert response.status_code == 422
    shown = page(response)
    assert message in shown.select_one(f"#{field}-error").text
    if data["name"]:
        assert shown.select_one("#name")["value"] == data["name"]
    assert len(purposes(db_session, include_retired=True)) == 6


@pytest.mark.parametrize("value", HOSTILE_TEXT[::3])
def test_hostile_names_and_wording_are_a_message_or_kept_clean(client, db_session, admin, value):
    response = post(
        client, BASE + "/purposes/new", {"name": value, "wording": value, "asks_naming": "yes"}
    )
    assert response.status_code in (303, 422), response.status_code
    for purpose in purposes(db_session, include_retired=True):
        assert "\x00" not in purpose.name and "\u202e" not in purpose.wording
        assert len(purpose.name) <= rules.MAX_NAME and len(purpose.key) <= 40
    assert client.get(BASE).status_code == 200


def test_a_new_wording_is_a_new_version_and_old_answers_stay_valid(client, db_session, admin):
    amelia, website = _answered(client, db_session, admin)
    url = f"{BASE}/purposes/{website.id}"
    form = page(client.get(url))
    assert form.select_one("#wording").text.strip() == website.wording
    assert form.select_one("#asks_naming[checked]") is not None  # website asks: yes
    response = post(
        client,
        url,
        {
            "name": "School website",
            "wording": "Photos of your child on the school website, which anyone can see.",
            "asks_naming": "yes",
            "seen": form.select_one("input[name=seen]")["value"],
        },
    )
    assert response.status_code == 303
    website = by_key(db_session, "website")
    assert (website.version, website.reask_from_version) == (2, None)
    record = db_session.scalar(select(ConsentRecord))
    assert record.wording_version == 1  # the version the parent was shown
    assert _decision(db_session, amelia, website).allowed
    overview = client.get(BASE)
    card = " ".join(page(overview).select_one(f"#purpose-{website.id}").get_text(" ").split())
    assert "Wording (version 2)" in card and "which anyone can see" in card
    assert "Last changed by Priya Shah on" in card
    changes = text_of(overview)
    assert "Changed the wording of “School website”" in changes
    assert "Answers already given stay valid" in changes
    event = db_session.scalar(
        select(HistoryEvent).where(HistoryEvent.tag == rules.PURPOSE_CHANGED_TAG)
    )
    assert (event.details["from_version"], event.details["to_version"]) == (1, 2)
    # New answers record the new version.
    sign_in(client, make_user(db_session, Role.office))
    form = client.get(f"/staff/pupils/{amelia.id}/answers")
    assert "which anyone can see" in text_of(form)


def test_asking_parents_again_makes_answers_to_the_old_wording_lapse(client, db_session, admin):
    amelia, website = _answered(client, db_session, admin)
    response = post(
        client,
        f"{BASE}/purposes/{website.id}",
        {
            "name": "School website",
            "wording": "Photos and videos of your child on the school website.",
            "asks_naming": "yes",
            "ask_again": "yes",
            "seen": "0",
        },
    )
    assert response.status_code == 303
    website = by_key(db_session, "website")
    assert (website.version, website.reask_from_version) == (2, 2)
    assert _decision(db_session, amelia, website).why is Why.lapsed
    assert "Parents are asked again" in text_of(client.get(BASE))


def test_asking_again_without_a_new_wording_changes_nothing(client, db_session, admin):
    website = by_key(db_session, "website")
    response = post(
        client,
        f"{BASE}/purposes/{website.id}",
        {
            "name": website.name,
            "wording": website.wording,
            "asks_naming": "yes",
            "ask_again": "yes",
            "seen": "0",
        },
    )
    assert response.status_code == 303
    website = by_key(db_session, "website")
    assert (website.version, website.reask_from_version, website.revision) == (1, None, 0)
    assert db_session.scalar(select(HistoryEvent).where(HistoryEvent.tag.like("consent:%"))) is None


def test_renaming_and_the_naming_question_are_each_one_event(client, db_session, admin):
    video = by_key(db_session, "video")
    response = post(
        client,
        f"{BASE}/purposes/{video.id}",
        {"name": "Videos", "wording": video.wording, "asks_naming": "yes", "seen": "0"},
    )
    assert response.status_code == 303
    video = by_key(db_session, "video")
    assert (video.name, video.asks_naming, video.version) == ("Videos", True, 1)
    events = db_session.scalars(
        select(HistoryEvent).where(HistoryEvent.subject_type == rules.PURPOSE_SUBJECT)
    ).all()
    assert sorted(e.details["field"] for e in events) == ["asks_naming", "name"]
    text = text_of(client.get(BASE))
    assert "Renamed a use" in text and "From “Video” to “Videos”" in text


def test_a_purpose_edit_from_an_older_page_is_refused_with_what_was_typed(
    client, db_session, admin
):
    video = by_key(db_session, "video")
    url = f"{BASE}/purposes/{video.id}"
    first = {"name": "Video", "wording": "First change.", "asks_naming": "no", "seen": "0"}
    assert post(client, url, first).status_code == 303
    second = {"name": "Video", "wording": "Second change.", "asks_naming": "no", "seen": "0"}
    response = post(client, url, second)
    assert response.status_code == 409
    assert "Another administrator changed “Video”" in text_of(response)
    assert page(response).select_one("#wording").text.strip() == "Second change."
    assert by_key(db_session, "video").wording == "First change."
    # Saving again from the page it showed now goes through.
    seen = page(response).select_one("input[name=seen]")["value"]
    assert post(client, url, {**second, "seen": seen}).status_code == 303
    assert by_key(db_session, "video").version == 3


def test_retiring_keeps_the_records_and_stops_asking(client, db_session, admin):
    amelia, website = _answered(client, db_session, admin)
    response = post(client, f"{BASE}/purposes/{website.id}/retire", {"seen": "0"}, from_page=BASE)
    assert response.status_code == 303
    website = by_key(db_session, "website")
    assert website.active is False
    assert db_session.scalar(select(ConsentRecord)).purpose_id == website.id
    overview = client.get(BASE)
    assert "School website" not in cards(overview)
    assert "School website" in page(overview).select_one("#retired").find_next("div").text
    sign_in(client, make_user(db_session, Role.office))
    assert (
        page(client.get(f"/staff/pupils/{amelia.id}/answers")).select_one("#answer_website") is None
    )
    assert "School website" not in text_of(client.get("/staff/photo-check"))
    history = page(client.get(f"/staff/pupils/{amelia.id}")).select_one("#records").text
    assert "School website (wording 1)" in history
    # Brought back, it is asked again.
    sign_in(client, admin)
    assert (
        post(
            client, f"{BASE}/purposes/{website.id}/restore", {"seen": "1"}, from_page=BASE
        ).status_code
        == 303
    )
    assert by_key(db_session, "website").active
    tags = [e.tag for e in db_session.scalars(select(HistoryEvent).order_by(HistoryEvent.id))]
    assert rules.PURPOSE_RETIRED_TAG in tags and rules.PURPOSE_RESTORED_TAG in tags


def test_the_last_use_cannot_be_retired(client, db_session, admin):
    every = purposes(db_session)
    for purpose in every[:-1]:
        rules.set_active(db_session, admin, purpose.id, False, seen_revision=0)
    db_session.commit()
    last = every[-1]
    response = post(client, f"{BASE}/purposes/{last.id}/retire", {"seen": "0"}, from_page=BASE)
    assert response.status_code == 409
    assert "Keep at least one use" in text_of(response)
    assert by_key(db_session, last.key).active


def test_retiring_twice_from_the_same_page_retires_once(client, db_session, admin):
    video = by_key(db_session, "video")
    url = f"{BASE}/purposes/{video.id}/retire"
    assert post(client, url, {"seen": "0"}, from_page=BASE).status_code == 303
    response = post(client, url, {"seen": "0"}, from_page=BASE)
    assert response.status_code == 409
    events = db_session.scalars(
        select(HistoryEvent).where(HistoryEvent.tag == rules.PURPOSE_RETIRED_TAG)
    )
    assert len(events.all()) == 1


def test_moving_a_use_changes_the_order_everyone_sees(client, db_session, admin):
    video = by_key(db_session, "video")
    order = page(client.get(BASE)).select_one("input[name=seen][value*=',']")["value"]
    response = post(
        client,
        f"{BASE}/purposes/{video.id}/move",
        {"direction": "up", "seen": order},
        from_page=BASE,
    )
    assert response.status_code == 303
    assert cards(client.get(BASE))[-2:] == ["Video", "Local press"]
    assert [p.key for p in purposes(db_session)][-2:] == ["video", "local_press"]
    # The same button pressed from the old page does not move it again.
    response = post(
        client,
        f"{BASE}/purposes/{video.id}/move",
        {"direction": "up", "seen": order},
        from_page=BASE,
    )
    assert response.status_code == 409
    assert "changed the order" in text_of(response)
    assert [p.key for p in purposes(db_session)][-2:] == ["video", "local_press"]
    # A direction that is neither up nor down is a message.
    response = post(
        client, f"{BASE}/purposes/{video.id}/move", {"direction": "\u202esideways"}, from_page=BASE
    )
    assert response.status_code == 409


def test_unknown_or_huge_purpose_ids_are_not_found(client, db_session, admin):
    for number in ("999999", str(2**31), str(2**64)):
        assert client.get(f"{BASE}/purposes/{number}").status_code == 404
        response = post(client, f"{BASE}/purposes/{number}/retire", {"seen": "0"}, from_page=BASE)
        assert response.status_code == 404


# ---------------------------------------------------------------- helpers


def _contact(db_session, email: str) -> int:
    from portal.consent.models import Contact

    return db_session.scalar(select(Contact.id).where(Contact.email == email))


def _decision(db_session, pupil, purpose):  # type: ignore[no-untyped-def]
    db_session.expire_all()
    purpose = db_session.get(Purpose, purpose.id)
    return answers.decisions_for(db_session, [pupil], [purpose], now_of(db_session))[
        (pupil.id, purpose.id)
    ]


def _answered(client, db_session, admin):  # type: ignore[no-untyped-def]
    """Amelia, with a yes to the school website from both parents (version 1)."""
    office = make_user(db_session, Role.office)
    sign_in(client, office)
    import_file(client, pupil_file(*ROWS))
    amelia = db_session.scalar(select(Pupil).where(Pupil.mis_id == "A001"))
    website = by_key(db_session, "website")
    for email in ("sarah@example.com", "tom@example.com"):
        answers.record_answers(
            db_session,
            office,
            amelia,
            _contact(db_session, email),
            answers.AnswerHow.paper,
            [Answer(website, True, True)],
            **evidence_kwargs(db_session, office, amelia, answers.AnswerHow.paper),
        )
    db_session.commit()
    assert _decision(db_session, amelia, website).allowed
    sign_in(client, admin)
    return amelia, website
