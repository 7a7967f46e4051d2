"""Notification texts: every kind in Finnish, Swedish and English, with the pathway reference and no client data."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime

import pytest

from core.i18n import pgettext
from models.pathway import Language, NotificationKind
from records import notification_texts
from records.notification_texts import render_notification

PATHWAY = "pathway-client-3f9a1c2b7d4e"
TEAM = "eura-team"
# Notices to staff name the pathway; notices to partner organisations never do.
STAFF_KINDS = list(notification_texts.TEMPLATES)
PARTNER_KINDS = list(notification_texts.PARTNER_TEMPLATES)
# Notices about the team (its partner register), which name no pathway.
TEAM_KINDS = list(notification_texts.TEAM_TEMPLATES)
LINK = "https://pathways.example.org/partner/referrals/eyJ0b2tlbiI.c2lnbmF0dXJl"


def test_every_kind_is_worded_for_staff_for_partners_or_for_the_team() -> None:
    assert set(STAFF_KINDS) | set(PARTNER_KINDS) | set(TEAM_KINDS) == set(NotificationKind)
    assert len(STAFF_KINDS) + len(PARTNER_KINDS) + len(TEAM_KINDS) == len(NotificationKind)


@pytest.mark.parametrize("kind", TEAM_KINDS)
def test_a_team_or_account_notice_names_what_changed_and_who_changed_it_in_three_languages(
    kind: NotificationKind,
) -> None:
    texts = [
        notification_texts.render_team_notice(
            kind, language, team=TEAM, partner="kela-demo", staff="niina.virtanen", changed_by="aino.aalto"
        )
        for language in Language
    ]
    for text in texts:
        assert "aino.aalto" in text.body
        assert ("kela-demo" in text.subject and TEAM in text.body) or "niina.virtanen" in text.subject
        assert "{" not in text.subject + text.body
    assert len({text.subject for text in texts}) == 3 and len({text.body for text in texts}) == 3


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_every_kind_has_a_text_in_every_language_naming_the_pathway(kind: NotificationKind, language: Language) -> None:
    text = render_notification(kind, language, pathway_id=PATHWAY, team=TEAM)

    assert PATHWAY in text.subject
    assert PATHWAY in text.body
    assert "{" not in text.subject + text.body
    assert len(text.subject) <= 300 and len(text.body) <= 4000


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_the_three_languages_give_three_different_texts(kind: NotificationKind) -> None:
    subjects = {render_notification(kind, language, pathway_id=PATHWAY, team=TEAM).subject for language in Language}
    bodies = {render_notification(kind, language, pathway_id=PATHWAY, team=TEAM).body for language in Language}

    assert len(subjects) == 3 and len(bodies) == 3


@pytest.mark.parametrize(
    ("language", "winter", "summer"),
    [
        (Language.FI, "Määräaika: 1.12.2026 klo 11.30", "Määräaika: 15.6.2026 klo 12.30"),
        (Language.SV, "Senast: 1.12.2026 kl. 11.30", "Senast: 15.6.2026 kl. 12.30"),
        (Language.EN, "Due: 1.12.2026 at 11:30", "Due: 15.6.2026 at 12:30"),
    ],
)
def test_a_due_time_is_shown_in_helsinki_time_as_finns_write_it(language: Language, winter: str, summer: str) -> None:
    # 09:30 UTC is 11:30 in Helsinki in winter (UTC+2) and 12:30 in summer (UTC+3).
    for due, expected in (
        (datetime(2026, 12, 1, 9, 30, tzinfo=UTC), winter),
        (datetime(2026, 6, 15, 9, 30, tzinfo=UTC), summer),
    ):
        text = render_notification(
            NotificationKind.FOLLOW_UP_DUE_SOON, language, pathway_id=PATHWAY, team=TEAM, due_at=due
        )
        assert expected in text.body
        assert "UTC" not in text.body


def test_templates_can_only_carry_the_pathway_reference_and_the_team() -> None:
    # The renderer takes no client fields at all; this guards the templates against growing new placeholders
    # (a reason, a note, a goal) that someone would then be tempted to fill with client data.
    fields: set[str] = set()
    for kind, (subject, body) in notification_texts.TEMPLATES.items():
        for language in ("fi", "sv"):
            for context, part in (("subject", subject), ("body", body)):
                translated = pgettext(language, f"notification {kind.value} {context}", part)
                assert translated != part, f"{kind.value} {context} has no {language} translation"
                fields |= {name for _, name, _, _ in string.Formatter().parse(translated) if name}
        for part in (subject, body):
            fields |= {name for _, name, _, _ in string.Formatter().parse(part) if name}
    assert fields == {"pathway", "team"}


@pytest.mark.parametrize("language", list(Language))
def test_texts_contain_no_identity_code_or_email_address(language: Language) -> None:
    for kind in STAFF_KINDS:
        text = render_notification(kind, language, pathway_id=PATHWAY, team=TEAM)
        content = text.subject + "\n" + text.body
        assert not re.search(r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]", content)
        assert "@" not in content


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", PARTNER_KINDS)
def test_a_partner_notice_names_the_team_and_the_referral_never_the_pathway(
    kind: NotificationKind, language: Language
) -> None:
    valid_until = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    text = notification_texts.render_partner_notice(
        kind, language, team_name="Euran työkykytiimi", reference="3f9a1c2b", link=LINK, valid_until=valid_until
    )
    content = text.subject + "\n" + text.body
    assert "Euran työkykytiimi" in content and "3f9a1c2b" in text.subject
    assert "pathway-" not in content
    assert "{" not in content and len(text.subject) <= 300 and len(text.body) <= 4000
    if kind is NotificationKind.REFERRAL_TO_PARTNER:
        assert LINK in text.body and "31.12.2026" in text.body


@pytest.mark.parametrize("kind", PARTNER_KINDS)
def test_partner_notices_differ_by_language_and_carry_only_the_team_the_reference_and_the_link(
    kind: NotificationKind,
) -> None:
    texts = {
        notification_texts.render_partner_notice(kind, language, team_name="T", reference="r", link=LINK).body
        for language in Language
    }
    assert len(texts) == 3
    subject, body = notification_texts.PARTNER_TEMPLATES[kind]
    fields: set[str] = set()
    for language in ("fi", "sv"):
        for context, part in (("subject", subject), ("body", body)):
            translated = pgettext(language, f"partner notice {kind.value} {context}", part)
            assert translated != part, f"{kind.value} {context} has no {language} translation"
            fields |= {name for _, name, _, _ in string.Formatter().parse(translated) if name}
    assert fields <= {"team_name", "reference", "link", "valid_until"}
