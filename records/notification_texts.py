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
    NotificationKind.SERVICE_START_MISSED: (
        "A planned service has not started: {pathway}",
        "A service in the plan of pathway {pathway} (team {team}) should have started and has not. Check with "
        "the provider and the client, then record the start or revise the plan.",
    ),
    NotificationKind.SERVICE_END_PASSED: (
        "A service is past its planned end: {pathway}",
        "A service of pathway {pathway} (team {team}) is past its planned end. Record how it ended, or revise "
        "the plan with its new end date, and make sure what follows is planned.",
    ),
    NotificationKind.INVESTIGATION_OVERDUE: (
        "An investigation is overdue: {pathway}",
        "An investigation ordered in the assessment of pathway {pathway} (team {team}) is past its due date. "
        "Ask for the result, or record it.",
    ),
    NotificationKind.GOAL_REVIEW_DUE: (
        "Review the client's goal: {pathway}",
        "A goal of the client on pathway {pathway} (team {team}) has reached its target date. Review it with "
        "the client: achieved, a new target date, or a new goal.",
    ),
    NotificationKind.CLIENT_FEEDBACK_RECEIVED: (
        "The client gave feedback: {pathway}",
        "The client of pathway {pathway} (team {team}) answered through their feedback link. Read it on the "
        "pathway page, and talk it over with the client at the next contact.",
    ),
    NotificationKind.TEAM_REVIEW_STALLED: (
        "A team review has waited too long: {pathway}",
        "Pathway {pathway} has waited for team {team}'s review longer than the team allows. Take it to the "
        "next team meeting and decide how to continue.",
    ),
    NotificationKind.TRANSITION_TO_DECIDE: (
        "A service stopped short: decide what follows: {pathway}",
        "A service of pathway {pathway} (team {team}) was interrupted, cancelled or declined. Decide what "
        "follows so the client is not left between services: a replacing service, going on without it, or "
        "the team's review.",
    ),
    NotificationKind.HANDOVER_PROPOSED: (
        "Take over as case manager: {pathway}",
        "You have been proposed as the new case manager of pathway {pathway} (team {team}). Agree on the "
        "hand-over with the current case manager, tell the client whom to contact, then accept the hand-over "
        "with your note.",
    ),
    NotificationKind.HANDOVER_PENDING: (
        "Hand-over started: you stay responsible until it is accepted: {pathway}",
        "A new case manager has been proposed for pathway {pathway} (team {team}). You remain the client's "
        "case manager until they accept: brief them on the situation and what has been agreed.",
    ),
    NotificationKind.HANDOVER_ACCEPTED: (
        "Hand-over completed: {pathway}",
        "The new case manager of pathway {pathway} (team {team}) has accepted the hand-over and the client "
        "has been told whom to contact. You are no longer the pathway's case manager.",
    ),
    NotificationKind.HANDOVER_DECLINED: (
        "Hand-over declined: {pathway}",
        "The proposed hand-over of pathway {pathway} (team {team}) was declined. The current case manager "
        "stays responsible; the coordinators name someone else if a change is still needed.",
    ),
    NotificationKind.HANDOVER_WITHDRAWN: (
        "Hand-over withdrawn: {pathway}",
        "The hand-over of pathway {pathway} (team {team}) proposed to you has been withdrawn. You do not take "
        "the pathway over.",
    ),
    NotificationKind.HANDOVER_REMINDER: (
        "Hand-over waiting for you: {pathway}",
        "The hand-over of pathway {pathway} (team {team}) to you has not been accepted yet. Until it is, the "
        "client is between two case managers: accept it or decline it with the reason.",
    ),
    NotificationKind.REFERRAL_ANSWERED: (
        "The provider answered a referral: {pathway}",
        "A provider has answered a referral of pathway {pathway} (team {team}). See the answer on the "
        "pathway and follow the plan accordingly.",
    ),
    NotificationKind.REFERRAL_UNANSWERED: (
        "A referral is unanswered: {pathway}",
        "A provider has not answered a referral of pathway {pathway} (team {team}) in time. Contact the "
        "provider, record its answer, or send the referral again.",
    ),
    NotificationKind.NETWORK_MEETING_SOON: (
        "Network meeting coming up: {pathway}",
        "The network meeting on pathway {pathway} (team {team}) is coming up. Confirm the participants, "
        "remote connections included, and the agenda with the client.",
    ),
    NotificationKind.NETWORK_MEETING_OVERDUE: (
        "Network meeting not recorded: {pathway}",
        "The network meeting planned on pathway {pathway} (team {team}) has not been recorded. Record what "
        "was decided, or schedule the meeting again.",
    ),
}

# Notices to partner organisations: no pathway reference and no client data, only the team and the signed
# link through which the provider reads the referral (shared with it under the client's consent) and answers.
PARTNER_TEMPLATES: dict[NotificationKind, tuple[str, str]] = {
    NotificationKind.REFERRAL_TO_PARTNER: (
        "Referral from work-ability team {team_name} ({reference})",
        "Work-ability team {team_name} has referred a client to your service. Read the referral and answer "
        "it (accepted, declined, started, ended) through this link, which is personal to your organisation:"
        "\n\n{link}\n\nThe link is valid until {valid_until}.",
    ),
    NotificationKind.REFERRAL_WITHDRAWN: (
        "Referral withdrawn by work-ability team {team_name} ({reference})",
        "Work-ability team {team_name} has withdrawn referral {reference}. Do not process it further; nothing "
        "more about the client will be shared with you under it.",
    ),
}

# Added when the notification was meant for a case manager whose account has been deactivated and goes to
# the team's coordinators instead, who must name a new case manager.
HANDOVER_LINE = (
    "The pathway's case manager has been deactivated, so this notice goes to the team's coordinators. "
    "Name a new case manager for the pathway."
)
DUE_LINE = "Due: {due}"
ANSWER_BY_LINE = "Please answer by: {due}"
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


# Notices about the team or an account, not a pathway. Placeholders {team}, {partner}, {staff}, {changed_by}.
TEAM_TEMPLATES: dict[NotificationKind, tuple[str, str]] = {
    NotificationKind.CONTACT_CORRECTED: (
        "The contact details of {staff} were changed by an administrator",
        "Administrator {changed_by} changed how {staff} is reached (work e-mail, phone or when to call): the "
        "clients' plan summaries print them, and the e-mail is where notices go. If {staff} did not ask for this, "
        "tell the data protection officer and the administrators now.",
    ),
    NotificationKind.IDENTITY_LINKED: (
        "A sign-in identity was linked to the account of {staff}",
        "Administrator {changed_by} linked an identity from the identity provider to the account of {staff}: "
        "whoever signs in with it acts as {staff}. If {staff} did not ask for this, tell the data protection "
        "officer and the administrators now.",
    ),
    NotificationKind.PARTNER_DESTINATION_CHANGED: (
        "Where a partner's referrals go was changed: {partner}",
        "{changed_by} changed where team {team}'s referrals to partner {partner} go (e-mail address, webhook "
        "or its secret). Referrals carry what clients consented to share with the partner: if you did not "
        "expect this change, check the partner register now.",
    ),
}


def render_team_notice(kind: NotificationKind, language: Language, **values: str) -> NotificationText:
    """A notice about the team or an account in the recipient's language: names staff, team and partner ids
    only (`values` fills the kind's placeholders)."""
    lang = language.value
    subject_source, body_source = TEAM_TEMPLATES[kind]
    subject = pgettext(lang, f"notification {kind.value} subject", subject_source).format(**values)
    body = pgettext(lang, f"notification {kind.value} body", body_source).format(**values)
    return NotificationText(subject=subject, body="\n".join([body, "", pgettext(lang, "notification", FOOTER)]))


def render_partner_notice(
    kind: NotificationKind,
    language: Language,
    *,
    team_name: str,
    reference: str,
    link: str = "",
    valid_until: datetime | None = None,
    due_at: datetime | None = None,
) -> NotificationText:
    """A notice to a partner organisation in its language: the team, the referral's short reference and the
    signed link; never the pathway or anything about the client."""
    lang = language.value
    subject_source, body_source = PARTNER_TEMPLATES[kind]
    values = {
        "team_name": team_name,
        "reference": reference,
        "link": link,
        "valid_until": format_datetime(valid_until, lang) if valid_until else "",
    }
    subject = pgettext(lang, f"partner notice {kind.value} subject", subject_source).format(**values)
    lines = [pgettext(lang, f"partner notice {kind.value} body", body_source).format(**values)]
    if due_at is not None:
        lines.append(pgettext(lang, "notification", ANSWER_BY_LINE).format(due=format_datetime(due_at, lang)))
    lines.append("")
    lines.append(pgettext(lang, "notification", FOOTER))
    return NotificationText(subject=subject, body="\n".join(lines))
