"""The AWS fact table: the loader, and the integrity of ``labkit/facts/facts.toml``."""

from __future__ import annotations

import importlib.resources
import re
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import labkit.facts as facts
from labkit.errors import LabkitError
from labkit.facts import Fact, UnknownFactError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FACTS_TOML = Path(facts.__file__).with_name("facts.toml")
REQUIRED = ("value", "unit", "title", "source", "as_of")
OPTIONAL = ("notes_said", "comment")
AWS_DOCS = ("https://docs.aws.amazon.com/", "https://aws.amazon.com/")


# -- the loader, on a small table of our own ----------------------------------------------------

SMALL_TABLE = """
[sqs.max_message_size]
value = 1048576
unit = "bytes"
title = "Maximum SQS message size"
source = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html"
as_of = "2026-11-27"
notes_said = "256 KB"

[sqs.visibility_timeout_default]
value = 30
unit = "seconds"
title = "Default visibility timeout"
source = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html"
as_of = "2026-11-27"
comment = "per queue"

[s3.consistency]
value = "strong read-after-write"
unit = "model"
title = "S3 consistency model"
source = "https://aws.amazon.com/s3/consistency/"
as_of = "2026-11-27"
"""


@pytest.fixture
def small_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "facts.toml").write_text(SMALL_TABLE, encoding="utf-8")
    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path)
    facts.table.cache_clear()
    yield
    facts.table.cache_clear()


@pytest.mark.usefixtures("small_table")
def test_loader_reads_every_fact_with_its_fields() -> None:
    table = facts.table()
    assert sorted(table) == [
        "s3.consistency",
        "sqs.max_message_size",
        "sqs.visibility_timeout_default",
    ]
    size = facts.fact("sqs.max_message_size")
    assert size == Fact(
        id="sqs.max_message_size",
        value=1048576,
        unit="bytes",
        title="Maximum SQS message size",
        source="https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
        "quotas-messages.html",
        as_of="2026-11-27",
        notes_said="256 KB",
    )
    assert facts.value("sqs.visibility_timeout_default") == 30
    assert facts.fact("sqs.visibility_timeout_default").comment == "per queue"
    assert facts.fact("sqs.visibility_timeout_default").notes_said == ""
    assert facts.value("s3.consistency") == "strong read-after-write"


@pytest.mark.usefixtures("small_table")
def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        facts.table()["sqs.new"] = facts.fact("sqs.max_message_size")  # type: ignore[index]


@pytest.mark.usefixtures("small_table")
def test_an_unknown_fact_names_the_facts_of_its_service() -> None:
    with pytest.raises(UnknownFactError) as info:
        facts.value("sqs.max_mesage_size")
    assert isinstance(info.value, LabkitError)
    assert "sqs.max_message_size" in str(info.value)
    assert "s3.consistency" not in str(info.value)


@pytest.mark.usefixtures("small_table")
def test_fact_text_gives_value_unit_source_and_what_the_notes_said() -> None:
    text = facts.fact("sqs.max_message_size").text()
    assert "1,048,576 bytes" in text
    assert "https://docs.aws.amazon.com/" in text
    assert "2026-11-27" in text
    assert "'256 KB'" in text and "out of date" in text
    assert "out of date" not in facts.fact("sqs.visibility_timeout_default").text()
    assert "strong read-after-write" in str(facts.fact("s3.consistency"))


# -- the real table -----------------------------------------------------------------------------


def _raw() -> dict[str, dict[str, dict[str, object]]]:
    raw: dict[str, dict[str, dict[str, object]]] = tomllib.loads(
        FACTS_TOML.read_text(encoding="utf-8")
    )
    return raw


def test_the_table_file_exists_and_loads() -> None:
    assert FACTS_TOML.is_file(), "labkit/facts/facts.toml is missing"
    facts.table.cache_clear()
    table = facts.table()
    assert len(table) == sum(len(entries) for entries in _raw().values())
    assert len(table) >= 10


def test_every_fact_has_exactly_the_known_fields() -> None:
    problems = []
    for service, entries in _raw().items():
        for name, entry in entries.items():
            where = f"{service}.{name}"
            if not isinstance(entry, dict):
                problems.append(f"{where}: not a table")
                continue
            missing = [k for k in REQUIRED if k not in entry]
            unknown = [k for k in entry if k not in REQUIRED + OPTIONAL]
            if missing or unknown:
                problems.append(f"{where}: missing {missing}, unknown {unknown}")
    assert problems == []


def test_every_fact_has_a_value_unit_title_and_check_date() -> None:
    today = date.today()
    problems = []
    for fact in facts.table().values():
        if fact.value is None or fact.value == "":
            problems.append(f"{fact.id}: no value")
        if not fact.unit.strip() or not fact.title.strip():
            problems.append(f"{fact.id}: no unit or title")
        try:
            checked = date.fromisoformat(fact.as_of)
        except ValueError:
            problems.append(f"{fact.id}: as_of {fact.as_of!r} is not a YYYY-MM-DD date")
            continue
        if checked > today:
            problems.append(f"{fact.id}: as_of {fact.as_of} is in the future")
    assert problems == []


def test_every_fact_cites_an_aws_documentation_page() -> None:
    offenders = [
        f"{fact.id}: {fact.source}"
        for fact in facts.table().values()
        if not fact.source.startswith(AWS_DOCS)
    ]
    assert offenders == []


# The language paths AWS puts in front of a translated page: ``docs.aws.amazon.com/ja_jp/...``
# (language_region) and ``aws.amazon.com/jp/...`` (one code per site language).
_AWS_SITE_LOCALES = frozenset(
    [
        "ar",
        "cn",
        "de",
        "es",
        "fr",
        "he",
        "id",
        "it",
        "jp",
        "ko",
        "pl",
        "pt",
        "ru",
        "th",
        "tr",
        "tw",
        "vi",
        "zh",
    ]
)


def _locale_of(url: str) -> str | None:
    """The locale segment of an AWS page's URL, or ``None`` for the English page."""
    parts = urlsplit(url)
    first = parts.path.strip("/").split("/", 1)[0].lower()
    if parts.hostname == "docs.aws.amazon.com" and re.fullmatch(r"[a-z]{2}[_-][a-z]{2}", first):
        return first
    if parts.hostname == "aws.amazon.com" and first in _AWS_SITE_LOCALES:
        return first
    return None


@pytest.mark.parametrize(
    ("url", "locale"),
    [
        ("https://docs.aws.amazon.com/ja_jp/AmazonS3/latest/userguide/x.html", "ja_jp"),
        ("https://docs.aws.amazon.com/de_de/lambda/latest/dg/x.html", "de_de"),
        ("https://docs.aws.amazon.com/en_us/lambda/latest/dg/x.html", "en_us"),
        ("https://aws.amazon.com/jp/athena/pricing/", "jp"),
        ("https://aws.amazon.com/cn/s3/pricing/", "cn"),
        ("https://docs.aws.amazon.com/AmazonS3/latest/userguide/x.html", None),
        ("https://aws.amazon.com/athena/pricing/", None),
        ("https://aws.amazon.com/s3/consistency/", None),
    ],
)
def test_locale_paths_are_recognised(url: str, locale: str | None) -> None:
    assert _locale_of(url) == locale


def test_every_fact_cites_the_english_page() -> None:
    offenders = [
        f"{fact.id}: {fact.source}"
        for fact in facts.table().values()
        if _locale_of(fact.source) is not None
    ]
    assert offenders == []


def test_sqs_max_message_size_is_1_mib_and_the_notes_256_kb_is_out_of_date() -> None:
    facts.table.cache_clear()
    size = facts.fact("sqs.max_message_size")
    assert size.value == 1024 * 1024
    assert size.unit == "bytes"
    assert facts.value("sqs.max_message_size") == 1_048_576
    assert "256" in size.notes_said
    assert "out of date" in size.text()
    assert size.source.startswith(AWS_DOCS)
