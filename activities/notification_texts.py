"""Notification texts for staff in Finnish, Swedish and English, chosen by the recipient's language.

A text names the pathway by its pseudonymous reference and says what the recipient should do. It is
rendered from the notification kind, the pathway id, the team and a due time only, so it cannot carry
the client's personal data (no referral reason, notes or goals): e-mail and webhooks leave our system.

The English texts here are the source; the Finnish and Swedish ones are in the gettext catalogues
(locale/, `core.i18n`), each under the context `notification <kind> subject|body`. Due times are written
as Finns write them, in Helsinki time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.i18n import format_datetime, pgettext
from models.pathway import Language, NotificationKind


@dataclass(frozen=True)
class NotificationText:
    subject: str
    body: str


# Placeholders: {pathway} (pseudonymous pathway reference), {team} (team id); the due line is appended.
TEMPLATES: dict[NotificationKind, tuple[str, str]] = {
    NotificationKind.NEW_REFERRAL: (
        "New referral waiting for team triage: {pathway}",
        "Team {team} has a new client (pathway {pathway}). Triage the referral as a team, choose the route "
        "and name a case manager.",
    ),
    NotificationKind.ASSIGNED_CASE_MANAGER: (
        "You are now the case manager: {pathway}",
        "You have been named case manager of pathway {pathway} (team {team}). Contact the client, support "
        "them in setting their own goal and agree on the next contact.",
    ),
    NotificationKind.HANDOVER_FROM: (
        "Case management handed over: {pathway}",
        "Case management of pathway {pathway} (team {team}) has been handed over to another professional. "
        "Make the handover safe: brief the new case manager on the situation and what has been agreed.",
    ),
    NotificationKind.HANDOVER_TO: (
        "You have taken over as case manager: {pathway}",
        "You are now the case manager of pathway {pathway} (team {team}). Review the pathway, agree on the "
        "handover with the previous case manager and tell the client whom to contact.",
    ),
    NotificationKind.FOLLOW_UP_DUE_SOON: (
        "Follow-up due soon: {pathway}",
        "The next follow-up contact on pathway {pathway} (team {team}) is due soon. Contact the client and "
        "record the follow-up.",
    ),
    NotificationKind.FOLLOW_UP_OVERDUE: (
        "Follow-up overdue: {pathway}",
        "The follow-up contact on pathway {pathway} (team {team}) is overdue and the case has gone to team "
        "review. Contact the client as soon as possible and record the follow-up.",
    ),
    NotificationKind.SERVICE_GAP: (
        "Service gap: {pathway}",
        "Pathway {pathway} (team {team}) has no active service at the moment. Make sure the next service "
        "starts, or revise the follow-up plan.",
    ),
    NotificationKind.ESCALATED_TO_TEAM_REVIEW: (
        "Pathway brought to team review: {pathway}",
        "Pathway {pathway} has been brought to team {team} for review. See the cause in the team's review "
        "list and decide how to continue.",
    ),
    NotificationKind.TEAM_REVIEW_DECIDED: (
        "Team review decided: {pathway}",
        "Team {team} has decided the review of pathway {pathway}. See the decision on the pathway's timeline "
        "and continue accordingly.",
    ),
    NotificationKind.SUSTAINMENT_CHECK_DUE: (
        "Sustainment check due: {pathway}",
        "The sustainment period of pathway {pathway} (team {team}) has ended. Check with the client whether "
        "the long-term solution has held, and record the result.",
    ),
}

# Added when the notification was meant for a case manager whose account has been deactivated and goes to
# the team's coordinators instead, who must name a new case manager.
HANDOVER_LINE = (
    "The pathway's case manager has been deactivated, so this notice goes to the team's coordinators. "
    "Name a new case manager for the pathway."
)
DUE_LINE = "Due: {due}"
FOOTER = "This is an automatic notice from the work-ability support pathway system."


def render_notification(
    kind: NotificationKind,
    language: Language,
    *,
    pathway_id: str,
    team: str,
    due_at: datetime | None = None,
    case_manager_deactivated: bool = False,
) -> NotificationText:
    """Subject and body of a notification in the recipient's language.

    `case_manager_deactivated`: the notice was meant for a case manager who has been deactivated and goes to
    a coordinator instead; the body says so and asks for a new case manager.
    """
    lang = language.value
    subject_source, body_source = TEMPLATES[kind]
    subject = pgettext(lang, f"notification {kind.value} subject", subject_source).format(pathway=pathway_id, team=team)
    lines = [pgettext(lang, f"notification {kind.value} body", body_source).format(pathway=pathway_id, team=team)]
    if case_manager_deactivated:
        lines.append(pgettext(lang, "notification", HANDOVER_LINE))
    if due_at is not None:
        lines.append(pgettext(lang, "notification", DUE_LINE).format(due=format_datetime(due_at, lang)))
    lines.append("")
    lines.append(pgettext(lang, "notification", FOOTER))
    return NotificationText(subject=subject, body="\n".join(lines))
