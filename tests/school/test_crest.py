"""The crest: PNG or JPEG only (by its bytes), fitted into 240 by 240, metadata stripped, served
under its version with a year's cache, and shown in the header on the next page."""

from __future__ import annotations

import io

from PIL import Image

from portal.school import profile as rules
from portal.school.models import SchoolProfile
from tests.conftest import page, text_of
from tests.factories import admin_client, school_now
from tests.school.helpers import school_events, send


def png_bytes(size=(100, 100), colour=(200, 30, 30, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (320, 160), (10, 90, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Secret camera app"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 8.0, 0.0)
    gps[3] = "W"
    gps[4] = (0.0, 28.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert b"PhoneMaker" in data
    return data


def upload(client, data: bytes, filename: str = "crest.png", media_type: str = "image/png"):  # type: ignore[no-untyped-def]
    return send(client, "/staff/settings/crest", {}, files={"crest": (filename, data, media_type)})


def stored(db_session) -> SchoolProfile:  # type: ignore[no-untyped-def]
    db_session.expire_all()
    from sqlmodel import select

    return db_session.exec(select(SchoolProfile)).one()


def test_a_png_crest_is_stored_served_and_shown_in_the_header(client, db_session):
    admin_client(client, db_session)
    before = len(school_events(db_session))
    response = upload(client, png_bytes())
    assert response.status_code == 303
    row = stored(db_session)
    assert row.crest_version == 1 and row.crest_media_type == "image/png"
    header = page(client.get("/")).select_one(".school-header__crest")
    assert header["src"] == "/crest/1.png"
    image = client.get("/crest/1.png")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert image.content == row.crest_image
    event = school_events(db_session)[-1]
    assert len(school_events(db_session)) == before + 1
    assert event.details == {"field": "crest", "from": None, "to": 1}
    old = client.get("/crest/0.png", follow_redirects=False)
    assert old.status_code == 307 and old.headers["location"] == "/crest/1.png"


def test_a_jpeg_with_gps_is_stored_as_a_png_without_any_metadata(client, db_session):
    admin_client(client, db_session)
    response = upload(client, jpeg_with_gps(), "holiday.jpg", "image/jpeg")
    assert response.status_code == 303
    data = stored(db_session).crest_image
    assert data.startswith(b"\x89PNG")
    assert b"PhoneMaker" not in data and b"Secret camera" not in data and b"Exif" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert not image.getexif()
        assert "exif" not in image.info
        assert image.size == (240, 120)  # fitted, its shape kept


def test_a_huge_image_is_made_small(client, db_session):
    admin_client(client, db_session)
    assert upload(client, png_bytes((3000, 1500))).status_code == 303
    with Image.open(io.BytesIO(stored(db_session).crest_image)) as image:
        assert image.size == (240, 120)


def test_an_svg_is_refused_whatever_it_is_called(client, db_session):
    admin_client(client, db_session)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, media_type in (("crest.svg", "image/svg+xml"), ("crest.png", "image/png")):
        response = upload(client, svg, name, media_type)
        assert response.status_code == 422
        assert "The file must be a PNG or JPEG image" in text_of(response)
    assert stored(db_session).crest_version == 0


def test_text_called_png_is_refused(client, db_session):
    admin_client(client, db_session)
    response = upload(client, b"just some words, not a picture", "crest.png")
    assert response.status_code == 422
    assert "The file must be a PNG or JPEG image" in text_of(response)


def test_a_gif_is_refused(client, db_session):
    admin_client(client, db_session)
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="GIF")
    response = upload(client, out.getvalue(), "crest.png")
    assert response.status_code == 422


def test_a_file_over_2_mb_is_refused_with_a_clear_message(client, db_session):
    admin_client(client, db_session)
    big = png_bytes() + b"\0" * (rules.CREST_MAX_BYTES + 10)
    response = upload(client, big)
    assert response.status_code == 422
    assert "The file must be smaller than 2 MB" in text_of(response)


def test_no_file_chosen(client, db_session):
    admin_client(client, db_session)
    response = send(client, "/staff/settings/crest", {})
    assert response.status_code == 422
    assert "Choose an image file of the crest" in text_of(response)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, format="PNG")  # small on disk, 81 million pixels
    try:
        rules.crest_png(out.getvalue())
    except rules.CrestRefused as refusal:
        assert "too large" in str(refusal)
    else:
        raise AssertionError("a huge image was accepted")


def test_removing_the_crest_brings_back_the_plain_one(app, client, db_session):
    admin_client(client, db_session)
    upload(client, png_bytes())
    response = send(client, "/staff/settings/crest/remove", {}, from_page="/staff/settings/crest")
    assert response.status_code == 303
    row = stored(db_session)
    assert row.crest_image is None and row.crest_version == 2
    assert not school_now(app).has_crest
    assert page(client.get("/")).select_one(".school-header__crest")["src"] == "/crest.svg"
    assert client.get("/crest/2.png").status_code == 404
    assert school_events(db_session)[-1].details == {"field": "crest", "from": 1, "to": None}
