"""Factories: every row, case, person, draft and school change a test needs, built through the
same services and pages the portal uses. Import them from here:

    from tests.factories import make_user, sign_in, make_cast, make_case, submit

- staff: `make_user`, `sign_in`, `admin_client` (an admin signed in), `PASSWORD`;
- complaints: `make_cast` (the `cast` fixture), `make_case` / `make_case_with_link` (a case in any
  state of the procedure), `submit` (just received), `answers`, `letter`, `add_file`;
- the parent's form: `answer`, `answer_steps`, `upload`, `send` (drafts are made this way);
- the school: `school_now`, `change_school`, `add_closures`.
"""

from tests.factories.complaints import (
    PDF_BYTES,
    STATES,
    Cast,
    add_file,
    answers,
    letter,
    make_case,
    make_case_with_link,
    make_cast,
    sort_case,
    submit,
)
from tests.factories.parent_form import answer, answer_steps, send, upload
from tests.factories.school import add_closures, change_school, school_now
from tests.factories.staff import PASSWORD, admin_client, make_user, sign_in

__all__ = [
    "PASSWORD",
    "PDF_BYTES",
    "STATES",
    "Cast",
    "add_closures",
    "add_file",
    "admin_client",
    "answer",
    "answer_steps",
    "answers",
    "change_school",
    "letter",
    "make_case",
    "make_case_with_link",
    "make_cast",
    "make_user",
    "school_now",
    "send",
    "sign_in",
    "sort_case",
    "submit",
    "upload",
]
