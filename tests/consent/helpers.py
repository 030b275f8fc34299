"""Pupil files shaped as school information systems export them, and uploading them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.pages import csrf_of

HEADER = (
    "UPN,Legal Forename,Legal Surname,Preferred Forename,Year,Reg Group,DOB,"
    "Contact 1 Name,Contact 1 Email,Contact 1 Relationship,Contact 1 Parental Responsibility,"
    "Contact 2 Name,Contact 2 Email,Contact 2 Relationship,Contact 2 Parental Responsibility"
)
ROWS = [
    "A001,Amelia,Jones,Millie,Year 3,3B,21/03/2017,Sarah Jones,sarah@example.com,Mother,Yes,"
    "Tom Jones,tom@example.com,Father,Yes",
    "A002,Zoë,O'Neill,,Year 3,3B,02/11/2016,Róisín O'Neill,roisin@example.com,Mother,Yes,,,,",
    "A003,Kwame,Mensah,,Year 4,4M,2015-07-09,Ama Mensah,AMA@Example.com,Grandmother,No,,,,",
]


def pupil_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


def upload(client: TestClient, content: bytes, *, full: str = "yes", filename: str = "pupils.csv"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/staff/pupils/import"))
    return client.post(
        "/staff/pupils/import",
        data={"csrf_token": token, "full": full},
        files={"file": (filename, content, "text/csv")},
        follow_redirects=False,
    )


MAPPING = {
    "pupil_id": "UPN",
    "legal_first_name": "Legal Forename",
    "legal_last_name": "Legal Surname",
    "preferred_name": "Preferred Forename",
    "year_group": "Year",
    "class_name": "Reg Group",
    "date_of_birth": "DOB",
    "contact1_name": "Contact 1 Name",
    "contact1_email": "Contact 1 Email",
    "contact1_relationship": "Contact 1 Relationship",
    "contact1_responsibility": "Contact 1 Parental Responsibility",
    "contact2_name": "Contact 2 Name",
    "contact2_email": "Contact 2 Email",
    "contact2_relationship": "Contact 2 Relationship",
    "contact2_responsibility": "Contact 2 Parental Responsibility",
}


def import_file(client: TestClient, content: bytes, *, full: str = "yes"):  # type: ignore[no-untyped-def]
    """Upload, map the columns if asked, and confirm: the import page's whole journey."""
    response = upload(client, content, full=full)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    if location.endswith("/columns"):
        token = csrf_of(client.get(location))
        response = client.post(
            location, data={"csrf_token": token, **MAPPING}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        location = response.headers["location"]
    preview = client.get(location)
    token = csrf_of(preview)
    return client.post(location + "/confirm", data={"csrf_token": token}, follow_redirects=False)


SCAN_PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def evidence_kwargs(session, user, pupil, how):  # type: ignore[no-untyped-def]
    """What `answers.record_answers` needs beside paper or phone answers: a scan kept for the
    pupil, or a note of the call."""
    from portal.consent.models import AnswerHow
    from portal.consent.services import evidence

    if how == AnswerHow.paper:
        return {"scan_id": evidence.keep_scan(session, user, pupil, "form.pdf", SCAN_PDF).id}
    if how == AnswerHow.phone:
        return {"call_note": "Rang the office on Monday at 9:15"}
    return {}
