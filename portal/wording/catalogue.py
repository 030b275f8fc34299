"""Every email and letter the portal sends: what it is for, the variables it may use, a sample.

The default text of each lives in `templates/wording/email/<key>.txt` (first line the subject,
then a blank line, then the body) or `templates/wording/letter/<key>.txt` (the body). A school
can replace either with its own (`WordingOverride`); both are rendered by the sandbox in
`portal.wording.rendering`, seeing only what `Wording.variables` lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal.mail import SECRET_PLACEHOLDER

EMAIL = "email"
LETTER = "letter"


@dataclass(frozen=True)
class CaseView:
    """A case as a template reads it: words, never the row (no ids, no tokens, no methods that
    reach the database). Built by the complaints domain for each message."""

    reference: str
    kind: str  # "concern" or "complaint"
    stage: str  # "concern", "stage 1 complaint", "stage 2 (governors' panel)"
    is_concern: bool
    anonymous: bool
    parent_name: str
    child_name: str
    category: str
    received_on: str  # "Monday 30 November 2026"
    deadline: str  # the next deadline, or "a date we will confirm soon"
    acknowledge_by: str  # "by Monday 7 December 2026", or "within 5 school days"
    # What the parent can do next, in one place for every email and letter of the case's stage:
    # a formal complaint after a concern, the governors' panel after stage 1, nothing after it.
    next_step: str = ""


@dataclass(frozen=True)
class Wording:
    """One email or letter: `key` names it in URLs and overrides; `variables` are the names its
    templates may use, each with what it holds (`case` and `school` are there for every one)."""

    key: str
    kind: str  # EMAIL or LETTER
    title: str
    purpose: str
    to: str  # who reads it: "parent", "staff"
    variables: Mapping[str, str]
    sample: Mapping[str, Any] = field(default_factory=dict)
    # The body must carry the private link (it stands in as SECRET_PLACEHOLDER when stored).
    needs_private_link: bool = False

    @property
    def is_email(self) -> bool:
        return self.kind == EMAIL

    @property
    def template_name(self) -> str:
        return f"wording/{self.kind}/{self.key}.txt"


SAMPLE_CASE = CaseView(
    reference="C-7K4P-2QX",
    kind="complaint",
    stage="stage 1 complaint",
    is_concern=False,
    anonymous=False,
    parent_name="Jordan Ellison",
    child_name="Sam Ellison",
    category="Teaching and learning",
    received_on="Monday 30 November 2026",
    deadline="Monday 14 December 2026",
    acknowledge_by="by Monday 7 December 2026",
    next_step=(
        "If you are not satisfied, you can ask for your complaint to be considered by a panel "
        "of governors (stage 2). Use the button on your case page, or write to the clerk to the "
        "governors, by Monday 14 December 2026. Please say why you are not satisfied and what "
        "you would like to happen."
    ),
)
SAMPLE_STAFF = "Janet Okafor"

CASE = "the case: case.reference, case.kind (concern or complaint), case.stage, case.parent_name, case.child_name, case.category, case.received_on, case.deadline, case.acknowledge_by, case.next_step (what the parent can do next, worded for the case's stage), case.is_concern, case.anonymous"  # noqa: E501
SCHOOL = "the school: school.name, school.contact_phone, school.contact_email, school.contact_address, school.website_url"  # noqa: E501
PARENT = "the parent's name"
STAFF = "the name of the member of staff it goes to"

_COMMON = {"case": CASE, "school": SCHOOL}
_LETTER_COMMON = {
    **_COMMON,
    "recipient_name": 'the parent\'s name, or "parent or carer" when the case is anonymous',
    "outcome": "the outcome: Upheld, Partly upheld or Not upheld",
    "investigated": "what was looked into, as the handler wrote it",
    "decision": "the decision and its reasons, as the handler wrote them",
    "actions": "what will be done, as the handler wrote it (empty when nothing)",
    "signer_name": "the name of the member of staff who signs the letter",
    "signer_role": "their roles and the school, for the line under the signature",
}
RESPONSE_BY = (
    'when the parent should have the full reply: "by Wednesday 16 December 2026", or '
    '"within 10 school days"'
)
_LETTER_SAMPLE = {
    "recipient_name": "Jordan Ellison",
    "outcome": "Partly upheld",
    "investigated": "We spoke to Sam's class teacher and read the homework diary for October.",
    "decision": "The homework was set later than the school's homework policy allows.",
    "actions": "Homework will be set on Mondays from next week.",
    "signer_name": "David Morgan",
    "signer_role": "Head teacher, Brookfield Primary School",
}


def _parent_email(
    key: str,
    title: str,
    purpose: str,
    extra: Mapping[str, str] | None = None,
    sample: Mapping[str, Any] | None = None,
    **options: Any,
) -> Wording:
    return Wording(
        key=key,
        kind=EMAIL,
        title=title,
        purpose=purpose,
        to="parent",
        variables={**_COMMON, "recipient_name": PARENT, **(extra or {})},
        sample={"recipient_name": SAMPLE_CASE.parent_name, **(sample or {})},
        **options,
    )


def _staff_email(
    key: str,
    title: str,
    purpose: str,
    extra: Mapping[str, str] | None = None,
    sample: Mapping[str, Any] | None = None,
) -> Wording:
    return Wording(
        key=key,
        kind=EMAIL,
        title=title,
        purpose=purpose,
        to="staff",
        variables={**_COMMON, "recipient_name": STAFF, **(extra or {})},
        sample={"recipient_name": SAMPLE_STAFF, **(sample or {})},
    )


PHOTOS_LINK = "the address of the photos page, where the parent asks for a sign-in link"


def _consent_email(
    key: str,
    title: str,
    purpose: str,
    extra: Mapping[str, str] | None = None,
    sample: Mapping[str, Any] | None = None,
    *,
    recipient: bool = True,
    **options: Any,
) -> Wording:
    """A photo consent email to a parent or carer: no case, and always the link to the photos
    page, where answers are changed or withdrawn as easily as they were given."""
    names = {"recipient_name": PARENT} if recipient else {}
    return Wording(
        key=key,
        kind=EMAIL,
        title=title,
        purpose=purpose,
        to="parent",
        variables={"school": SCHOOL, **names, "photos_link": PHOTOS_LINK, **(extra or {})},
        sample={
            **({"recipient_name": SAMPLE_CASE.parent_name} if recipient else {}),
            "photos_link": "https://portal.example/photos",
            **(sample or {}),
        },
        **options,
    )


EVENT_VARIABLES = {
    "event_title": "the event's name, like 'Sports day'",
    "event_date": "the day of the event, like 'Friday 3 July 2026'",
    "event_place": "where it is",
    "event_details": "what families need to know, as staff wrote it",
    "guidance_link": "the address of the photo guidance page",
}
EVENT_SAMPLE = {
    "event_title": "Sports day",
    "event_date": "Friday 3 July 2026",
    "event_place": "The school field",
    "event_details": "Races start at 1:30pm. Bring a sun hat and a water bottle.",
    "guidance_link": "https://portal.example/photos/guidance",
}


CATALOGUE: tuple[Wording, ...] = (
    _parent_email(
        "complaint-received",
        "We have received your concern or complaint",
        "Sent to the parent as soon as a concern or complaint arrives, with their private link.",
        {
            "private_link": "the parent's private link to their case (keep it in the email)",
            "response_by": RESPONSE_BY,
        },
        {"private_link": SECRET_PLACEHOLDER, "response_by": "by Wednesday 16 December 2026"},
        needs_private_link=True,
    ),
    _parent_email(
        "earlier-matter-complete",
        "About your earlier matter",
        "Sent to a parent the school has marked as having completed the procedure, when they "
        "send something new.",
        {"earlier_reference": "the reference of the earlier case (empty if it is gone)"},
        {"earlier_reference": "C-3MN8-4TR"},
    ),
    _parent_email(
        "case-being-looked-into",
        "Your case is being looked into",
        "Sent to the parent when office has sorted a new case and given it to a handler.",
        {"handler_name": "the name of the member of staff looking into it"},
        {"handler_name": "David Morgan"},
    ),
    _parent_email(
        "case-declined",
        "We have decided not to look into your case",
        "Sent to the parent when office decides not to investigate a late or anonymous case.",
        {"reason": "the reason office gave"},
        {"reason": "This happened more than a year ago and the staff involved have left."},
    ),
    _parent_email(
        "case-redirected",
        "A different procedure",
        "Sent to the parent when their case belongs to another procedure (admissions, exclusions "
        "and so on), saying where to go instead.",
        {
            "procedure_name": "the other procedure's name, in lower case",
            "where": "where to go for it (words and link)",
            "reason": "the reason office gave",
        },
        {
            "procedure_name": "school admissions",
            "where": "Admissions appeals are run by the council. https://www.example.gov.uk",
            "reason": "Appeals about a school place go to the council's independent panel.",
        },
    ),
    _parent_email(
        "response-ready",
        "Our response is ready",
        "Sent to the parent when the stage 1 letter (or the reply to a concern) is ready.",
    ),
    _parent_email(
        "new-date",
        "A new date for your case",
        "Sent to the parent when the handler needs more time and sets a new date.",
        {"new_date": "the new date for the reply", "reason": "why it will be late"},
        {
            "new_date": "Wednesday 16 December 2026",
            "reason": "We are waiting to speak to a member of staff who is away this week.",
        },
    ),
    _parent_email(
        "school-message",
        "A message about your case",
        "Sent to the parent when the school sends them a message on the portal.",
    ),
    _parent_email(
        "case-withdrawn",
        "You have withdrawn your case",
        "Sent to the parent to confirm that they withdrew their case.",
        {"withdrawn_on": "the day it was withdrawn"},
        {"withdrawn_on": "Tuesday 1 December 2026"},
    ),
    _parent_email(
        "next-stage-requested",
        "Your request for the next stage",
        "Sent to the parent when they ask for the next stage (formal complaint or the panel).",
    ),
    _parent_email(
        "concern-made-formal",
        "Your concern is now a formal complaint",
        "Sent to the parent when office decides a concern should be handled as a formal "
        "stage 1 complaint.",
        {"handler_name": "the name of the person who will answer it"},
        {"handler_name": "David Morgan"},
    ),
    _parent_email(
        "date-moved",
        "A date we gave you has changed",
        "Sent to the parent when a date we gave them moves because the school's term dates or "
        "timescales changed.",
        {
            "what_moved": 'what the date is for, as the start of a sentence: "We will now send '
            'our response by"',
            "old_date": "the date we gave before",
            "new_date": "the new date",
        },
        {
            "what_moved": "We will now send our response by",
            "old_date": "Monday 14 December 2026",
            "new_date": "Tuesday 15 December 2026",
        },
    ),
    _parent_email(
        "panel-arranged",
        "Your governors' panel hearing",
        "Sent to the parent when the clerk or chair arranges the panel hearing, and again if its "
        "date, time, place or members change.",
        {
            "hearing_when": 'the day and time of the hearing: "Tuesday 12 January 2027 at 18:00"',
            "hearing_how": "how it is held and where, or how to join",
            "panel_members": "the names of the three governors on the panel",
            "papers_by": "the last day to send papers to the panel",
        },
        {
            "hearing_when": "Tuesday 12 January 2027 at 18:00",
            "hearing_how": "In person, in the school library",
            "panel_members": "Aisha Rahman, Mark Ellis and Sarah Lee",
            "papers_by": "Tuesday 5 January 2027",
        },
    ),
    _parent_email(
        "panel-bundle-ready",
        "The papers for your panel hearing",
        "Sent to the parent when the clerk or chair sends the panel bundle: the papers the "
        "panel will read, in one file on the case page.",
        {"pages": "how many pages the bundle has"},
        {"pages": "17"},
    ),
    _parent_email(
        "moved-with-linked-cases",
        "Your case moved on with the cases linked to it",
        "Sent to a parent whose case is answered together with others on the same matter, when "
        "another of those parents asks for the next stage and the cases move on together.",
    ),
    _parent_email(
        "panel-outcome-ready",
        "The governors' panel outcome",
        "Sent to the parent when the panel's letter is ready; it ends the procedure.",
    ),
    _parent_email(
        "procedure-complete",
        "The procedure is complete",
        "Sent to the parent when the head teacher or chair records that the procedure on this "
        "matter is complete.",
    ),
    _parent_email(
        "same-matter",
        "The same matter as an earlier case",
        "Sent to the parent when a new message is about a matter already completed.",
        {"earlier_reference": "the reference of the earlier case (empty if it is gone)"},
        {"earlier_reference": "C-3MN8-4TR"},
    ),
    _staff_email(
        "staff-case-given",
        "A case has been given to you",
        "Sent to a handler when a case is given to them.",
    ),
    _staff_email(
        "staff-case-delegated",
        "A case has been given to you to look into",
        "Sent to a senior leader when the handler gives them a case to look into and draft the "
        "reply.",
        {"handler_name": "the name of the handler who gave it to them"},
        {"handler_name": "David Morgan"},
    ),
    _staff_email(
        "staff-case-taken-back",
        "A case has been taken back",
        "Sent to a senior leader when the handler takes back a case they gave them, or gives it "
        "to someone else.",
        {"handler_name": "the name of the handler who took it back"},
        {"handler_name": "David Morgan"},
    ),
    _staff_email(
        "staff-parent-replied",
        "The parent has replied",
        "Sent to the handler when the parent replies on the portal.",
    ),
    _staff_email(
        "staff-case-withdrawn",
        "A case has been withdrawn",
        "Sent to the handler when the parent withdraws the case.",
    ),
    _staff_email(
        "staff-next-stage",
        "A case has moved to the next stage",
        "Sent to the new handler (or the clerk) when the parent asks for the next stage.",
    ),
    _staff_email(
        "staff-panel-member",
        "You are on a complaint panel",
        "Sent to each governor on a stage 2 panel when the hearing is arranged or changed.",
        {
            "hearing_when": 'the day and time of the hearing: "Tuesday 12 January 2027 at 18:00"',
            "hearing_how": "how it is held and where, or how to join",
            "panel_members": "the names of the three governors on the panel",
            "papers_by": "the last day to send papers to the panel",
        },
        {
            "hearing_when": "Tuesday 12 January 2027 at 18:00",
            "hearing_how": "In person, in the school library",
            "panel_members": "Aisha Rahman, Mark Ellis and Sarah Lee",
            "papers_by": "Tuesday 5 January 2027",
        },
    ),
    _staff_email(
        "staff-panel-papers",
        "The parent has sent papers for the panel",
        "Sent to the clerk when the parent sends papers for the governors' panel.",
        {"papers_by": "the last day to send papers to the panel"},
        {"papers_by": "Tuesday 5 January 2027"},
    ),
    _staff_email(
        "staff-panel-bundle",
        "The panel bundle is ready",
        "Sent to each governor on the panel when the clerk or chair sends the panel bundle.",
        {"pages": "how many pages the bundle has"},
        {"pages": "17"},
    ),
    _staff_email(
        "staff-reminder",
        "Reminder: a case is due soon",
        "Sent to the handler (or office) a few school days before a deadline.",
        {"due_what": 'what is due, e.g. "Response due"', "due_on": "the day it is due"},
        {"due_what": "Response due", "due_on": "Monday 14 December 2026"},
    ),
    Wording(
        key="access-notice",
        kind=EMAIL,
        title="Someone can now read complaints",
        purpose="Sent to the head teacher and the chair (or an admin) when someone is given a "
        "role that reads complaints.",
        to="staff",
        variables={
            "school": SCHOOL,
            "recipient_name": STAFF,
            "person_name": "the name of the person given the role",
            "person_email": "their email address",
            "roles": "the roles given",
            "given_by": 'who gave them ("themselves" when they did it)',
            "given_at": 'when, like "01 December 2026 at 09:30"',
        },
        sample={
            "recipient_name": "David Morgan",
            "person_name": "Aisha Rahman",
            "person_email": "governor@brookfield-primary.example",
            "roles": "Governor",
            "given_by": "Priya Shah",
            "given_at": "01 December 2026 at 09:30",
        },
    ),
    Wording(
        key="news-approval-asked",
        kind=EMAIL,
        title="A news post is waiting for your approval",
        purpose="Sent to the head teacher (or, for the head's own post when the school has no "
        "other head, the chair of governors) when a member of staff sends a news post for "
        "approval.",
        to="staff",
        variables={
            "school": SCHOOL,
            "recipient_name": STAFF,
            "author_name": "who wrote the post",
            "post_title": "the post's title",
            "post_link": "the address of the post's staff page",
        },
        sample={
            "recipient_name": "David Morgan",
            "author_name": "Janet Okafor",
            "post_title": "Sports day: a sunny afternoon of races",
            "post_link": "https://portal.example/staff/news/12",
        },
    ),
    Wording(
        key="news-post-returned",
        kind=EMAIL,
        title="Your news post was returned with comments",
        purpose="Sent to the author of a news post when the head teacher returns it with comments.",
        to="staff",
        variables={
            "school": SCHOOL,
            "recipient_name": STAFF,
            "returned_by": "who returned it",
            "post_title": "the post's title",
            "comments": "what they asked for, as they wrote it",
            "post_link": "the address of the post's staff page",
        },
        sample={
            "recipient_name": "Janet Okafor",
            "returned_by": "David Morgan",
            "post_title": "Sports day: a sunny afternoon of races",
            "comments": "Please add the date of the next event.",
            "post_link": "https://portal.example/staff/news/12",
        },
    ),
    Wording(
        key="news-consent-changed",
        kind=EMAIL,
        title="A news post shows a pupil without photo consent",
        purpose="Sent to the head teacher and office staff when the photo check changes to no "
        "for a pupil in a published post (consent withdrawn or lapsed, a pupil restricted or "
        "leaving, a consent setting changed), once until someone deals with it.",
        to="staff",
        variables={
            "school": SCHOOL,
            "recipient_name": STAFF,
            "post_title": "the post's title",
            "detail": "which pupils, and why, in plain words",
        },
        sample={
            "recipient_name": "David Morgan",
            "post_title": "Sports day: a sunny afternoon of races",
            "detail": "Millie Jones, 3B: Withdrawn on 1 December 2026",
        },
    ),
    Wording(
        key="term-dates-running-out",
        kind=EMAIL,
        title="Add the next term dates",
        purpose="Sent to every admin six weeks before the term dates run out.",
        to="staff",
        variables={
            "school": SCHOOL,
            "recipient_name": STAFF,
            "warning": "what is running out and when",
            "staff_link": "the address of the staff pages",
        },
        sample={
            "recipient_name": "Priya Shah",
            "warning": "The term dates in the portal end on Friday 23 July 2027.",
            "staff_link": "https://portal.example/staff",
        },
    ),
    _consent_email(
        "parent-sign-in-link",
        "Your sign-in link (photo consent)",
        "Sent when a parent or carer on the pupil register asks for a link at /photos (or the "
        "office prints one for them): it signs them in once, for a short time.",
        {
            "private_link": "the one-time sign-in link (keep it in the email)",
            "link_minutes": "how many minutes the link works for",
        },
        {"private_link": SECRET_PLACEHOLDER, "link_minutes": "30"},
        needs_private_link=True,
    ),
    _consent_email(
        "parent-sign-in-not-on-register",
        "No sign-in link: this address is not on the register",
        "Sent when someone asks for a sign-in link for an address that is not a parent's or "
        "carer's on the pupil register (the page never says which addresses are on it).",
        recipient=False,
    ),
    _consent_email(
        "consent-withdrawn",
        "You have withdrawn consent for photos",
        "Sent to a parent or carer who took back a yes they had given, to confirm it.",
        {
            "child_name": "the child's first name",
            "uses": "the uses withdrawn, one per line",
            "withdrawn_on": "the day it was withdrawn",
        },
        {
            "child_name": "Sam",
            "uses": "- School website\n- Local press",
            "withdrawn_on": "Wednesday 25 November 2026",
        },
    ),
    _consent_email(
        "consent-parents-disagree",
        "Parents gave different answers about photos",
        "Sent to each parent or carer with parental responsibility when their answers for a "
        "child differ: the no is what counts.",
        {"child_name": "the child's first name", "uses": "the uses they disagree on, one per line"},
        {"child_name": "Sam", "uses": "- School website"},
    ),
    _consent_email(
        "consent-ask-again",
        "Please answer again about photos",
        "Sent once by the daily `portal consent-invitations` command when a parent's answers "
        "have lapsed (the school's validity setting).",
        {"children": "the children's first names, like 'Sam and Alex'"},
        {"children": "Sam"},
    ),
    Wording(
        key="consent-request",
        kind=EMAIL,
        title="Please tell us about photos of your child",
        purpose="Sent by office to each parent or carer with parental responsibility whose "
        "child in a class or year group has no answer (or last year's answer) about photos: one "
        "email per parent, naming all their children it is about.",
        to="parent",
        variables={
            "school": SCHOOL,
            "recipient_name": PARENT,
            "children": 'the children it is about: "Millie Jones and Lily Jones"',
            "purposes": 'what the school asks about, in lower case: "school website and local '
            'press"',
            "photos_link": "the address of the portal's photos page, where the parent asks for "
            "a link to sign in",
        },
        sample={
            "recipient_name": "Jordan Ellison",
            "children": "Sam Ellison and Alex Ellison",
            "purposes": "school website and local press",
            "photos_link": "https://portal.example/photos",
        },
    ),
    Wording(
        key="comment-link",
        kind=EMAIL,
        title="Your link to comment on the school's news",
        purpose="Sent when someone who is not on the pupil register asks to comment on a news "
        "post and the school lets anyone comment: it confirms their address, once, for a short "
        "time.",
        to="parent",
        variables={
            "school": SCHOOL,
            "private_link": "the one-time link (keep it in the email)",
            "link_minutes": "how many minutes the link works for",
        },
        sample={"private_link": SECRET_PLACEHOLDER, "link_minutes": "30"},
        needs_private_link=True,
    ),
    Wording(
        key="comment-rejected",
        kind=EMAIL,
        title="Your comment was not published",
        purpose="Sent to the author of a comment on the school's news when a moderator rejects "
        "it, with the reason. Only the author is sent their words.",
        to="parent",
        variables={
            "school": SCHOOL,
            "recipient_name": "the name the commenter chose to show",
            "post_title": "the title of the news post",
            "comment_text": "the comment as they wrote it",
            "reason": "why it was not published, in the moderator's words",
        },
        sample={
            "recipient_name": "Sarah J.",
            "post_title": "Sports day",
            "comment_text": "Well done to everyone in Year 3!",
            "reason": "It names a child other than your own.",
        },
    ),
    Wording(
        key="comment-to-complaints",
        kind=EMAIL,
        title="Your comment: please use the complaints procedure",
        purpose="Sent to the author of a comment on the school's news that a moderator sends to "
        "the complaints procedure instead of publishing it: a link starts the complaint form "
        "with their words.",
        to="parent",
        variables={
            "school": SCHOOL,
            "recipient_name": "the name the commenter chose to show",
            "post_title": "the title of the news post",
            "comment_text": "the comment as they wrote it",
            "complaint_link": "a link that starts the complaint form with their words",
        },
        sample={
            "recipient_name": "Sarah J.",
            "post_title": "Sports day",
            "comment_text": "Nobody listens when I complain about the car park.",
            "complaint_link": "https://portal.example/news/comments/complaint/SAMPLE",
        },
    ),
    Wording(
        key="stage1-letter",
        kind=LETTER,
        title="Response letter (stage 1, or the reply to a concern)",
        purpose="The letter the handler sends at the end of stage 1 (or in reply to a concern); "
        "the parent reads it on the portal and downloads it as a PDF.",
        to="parent",
        variables={
            **_LETTER_COMMON,
            "escalate_by": 'until when the parent may take it further: "by Monday 14 December '
            '2026", or "within 10 school days of this letter"',
        },
        sample={**_LETTER_SAMPLE, "escalate_by": "by Monday 14 December 2026"},
    ),
    Wording(
        key="acknowledgement-letter",
        kind=LETTER,
        title="Acknowledgement (the first letter)",
        purpose="Sent as soon as a concern or complaint is received: it is a message on the case "
        "the parent can read and download, and is printed for a parent with no email.",
        to="parent",
        variables={
            **_COMMON,
            "recipient_name": 'the parent\'s name, or "parent or carer" when the case is anonymous',
            "response_by": RESPONSE_BY,
        },
        sample={"recipient_name": "Jordan Ellison", "response_by": "by Wednesday 16 December 2026"},
    ),
    Wording(
        key="acknowledgement-by-post",
        kind=LETTER,
        title="How to follow the case (on the acknowledgement sent by post)",
        purpose="Printed under the acknowledgement letter for a parent with no email, whose "
        "concern or complaint office logged: it carries their private link.",
        to="parent",
        variables={
            **_COMMON,
            "private_link": "the parent's private link to their case (keep it in the letter)",
        },
        sample={"private_link": "https://portal.example/track/SAMPLE-LINK"},
        needs_private_link=True,
    ),
    Wording(
        key="panel-outcome-letter",
        kind=LETTER,
        title="Governors' panel outcome letter (stage 2)",
        purpose="The panel's letter at the end of stage 2; it ends the school's procedure.",
        to="parent",
        variables={
            **_LETTER_COMMON,
            "hearing_on": "the day the panel met",
            "panel_members": "the panel's names, separated by commas",
        },
        sample={
            **_LETTER_SAMPLE,
            "hearing_on": "Thursday 21 January 2027",
            "panel_members": "Helen Price, Aisha Rahman, Mark Ellis",
            "signer_name": "Tom Baxter",
            "signer_role": "Clerk to the governors, Brookfield Primary School",
        },
    ),
    _consent_email(
        "confirmation-reminder",
        "Please read and confirm (photo guidance or being online)",
        'Sent when staff press "Email those who have not confirmed" for a class: one email to '
        "each parent or carer who has not confirmed the current version of the page it names.",
        {
            "document_name": "the page to confirm, like 'Photo guidance for school events'",
            "document_link": "the address of that page",
        },
        {
            "document_name": "Photo guidance for school events",
            "document_link": "https://portal.example/photos/guidance",
        },
    ),
    _consent_email(
        "event-details",
        "The details of a school event",
        "Sent to each family of the event's classes when staff send the event, or, for an event "
        "that asks first, as soon as the parent confirms the photo guidance.",
        EVENT_VARIABLES,
        EVENT_SAMPLE,
    ),
    _consent_email(
        "event-confirm-first",
        "Please confirm the photo guidance before a school event",
        "Sent to a parent or carer who has not confirmed the photo guidance yet when staff send "
        "an event that asks for it first (and again when staff remind them): the details follow "
        "once they confirm.",
        {key: EVENT_VARIABLES[key] for key in ("event_title", "event_date", "guidance_link")},
        {key: EVENT_SAMPLE[key] for key in ("event_title", "event_date", "guidance_link")},
    ),
)

BY_KEY: dict[str, Wording] = {wording.key: wording for wording in CATALOGUE}


def wording_for(key: str) -> Wording:
    return BY_KEY[key]
