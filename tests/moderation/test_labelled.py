"""Every labelled comment gets exactly the rules its row expects (tests/moderation/
labelled_comments.csv: text, expected_rules separated by ";", and why)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from portal.moderation.screening import Rule, Screener

TABLE = Path(__file__).with_name("labelled_comments.csv")


def rows() -> list[dict[str, str]]:
    with TABLE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_table_is_big_enough_and_covers_every_rule_both_ways():
    table = rows()
    assert len(table) >= 80
    flagged = Counter(rule for row in table for rule in row["expected_rules"].split(";") if rule)
    assert set(flagged) == {rule.value for rule in Rule}
    assert sum(1 for row in table if not row["expected_rules"]) >= 20


@pytest.mark.parametrize("row", rows(), ids=lambda row: row["text"][:40])
def test_each_labelled_comment_gets_exactly_its_rules(screener: Screener, row):
    expected = {Rule(value) for value in row["expected_rules"].split(";") if value}
    result = screener.screen(row["text"])
    found = {flag.rule for flag in result.flags}
    assert found == expected, (row["note"], [(f.rule, f.matched) for f in result.flags])
