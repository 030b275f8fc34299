"""The signing helper: a value signed for one purpose, binding and time is good for that only."""

from __future__ import annotations

import pytest

from portal.signing import Signer, same_secret, token_digest

NOW = 1_800_000_000
signer = Signer("test-secret-key-" + "x" * 40)


def test_a_signed_value_gives_back_its_payload_until_it_expires():
    value = signer.sign("track", "42", expires_at=NOW + 60)
    assert signer.unsign("track", value, now=NOW) == "42"
    assert signer.unsign("track", value, now=NOW + 60) == "42"


def test_an_expired_value_is_refused():
    value = signer.sign("track", "42", expires_at=NOW + 60)
    assert signer.unsign("track", value, now=NOW + 61) is None


def test_a_value_signed_for_another_purpose_is_refused():
    value = signer.sign("complaint-done", "42", expires_at=NOW + 60)
    assert signer.unsign("track", value, now=NOW) is None
    assert signer.signature("csrf", "abc") != signer.signature("track", "abc")


def test_a_value_bound_to_another_secret_is_refused():
    value = signer.sign("track", "42", expires_at=NOW + 60, bound_to=token_digest("old link"))
    assert signer.unsign("track", value, now=NOW, bound_to=token_digest("old link")) == "42"
    assert signer.unsign("track", value, now=NOW, bound_to=token_digest("new link")) is None
    assert signer.unsign("track", value, now=NOW) is None


def test_another_key_refuses_the_value():
    value = signer.sign("track", "42", expires_at=NOW + 60)
    assert Signer("another-secret-key-" + "y" * 40).unsign("track", value, now=NOW) is None


def _tampered(value: str) -> list[str]:
    body, expires, signature = value.split(".")
    return [
        f"{signer.sign('track', '43').split('.')[0]}.{expires}.{signature}",  # another payload
        f"{body}.{int(expires) + 3600}.{signature}",  # a later expiry
        f"{body}..{signature}",  # no expiry at all
        f"{body}.{expires}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",
        f"{body}.{expires}.",
        f"{body}={expires}.{signature}",
        f"{body}!.{expires}.{signature}",  # base64 would pass over the stray character
        f"{body}.{expires}.{signature}.extra",
        f"{body}.{expires}",
        "",
    ]


def test_a_tampered_value_is_refused():
    value = signer.sign("track", "42", expires_at=NOW + 60)
    for hostile in _tampered(value):
        assert signer.unsign("track", hostile, now=NOW) is None, hostile


@pytest.mark.parametrize(
    "payload", ["Zoë's form", "\u0661\u0662\u0663", "\u2603 \U0001f600", '{"a": "\u00e9"}', ""]
)
def test_any_text_can_be_signed_and_travels_as_ascii(payload):
    value = signer.sign("complaint-done", payload, expires_at=NOW + 60)
    assert value.isascii()
    assert ";" not in value and "," not in value and " " not in value  # safe in a cookie
    assert signer.unsign("complaint-done", value, now=NOW) == payload
    assert Signer.peek(value) == payload


@pytest.mark.parametrize("hostile", ["\u00e9" * 64, "\u2603.1.\u2603", "\x00.\x00.\x00", "²..²"])
def test_hostile_values_are_refused_not_raised(hostile):
    assert signer.unsign("track", hostile, now=NOW) is None
    Signer.peek(hostile)  # reads nothing it cannot decode, and never raises


def test_a_value_without_expiry_is_good_until_its_binding_changes():
    value = signer.sign("consent", "child 7", bound_to="a")
    assert signer.unsign("consent", value, now=NOW * 10, bound_to="a") == "child 7"
    assert signer.unsign("consent", value, now=NOW, bound_to="b") is None


def test_our_own_fields_cannot_hold_the_separator():
    with pytest.raises(ValueError):
        signer.signature("track\x00x", "42")


def test_same_secret_compares_any_text():
    assert same_secret("abc", "abc")
    assert not same_secret("abc", "\u00e9\u00e9")


def test_token_digest_is_the_sha256_the_database_stores():
    assert token_digest("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
