"""Notification texts for staff in Finnish, Swedish and English, chosen by the recipient's language.

A text names the pathway by its pseudonymous reference and says what the recipient should do. It is
rendered from the notification kind, the pathway id, the team and a due time only, so it cannot carry
the client's personal data (no referral reason, notes or goals): e-mail and webhooks leave our system.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from models.pathway import Language, NotificationKind


@dataclass(frozen=True)
class NotificationText:
    subject: str
    body: str


@dataclass(frozen=True)
class _Template:
    subject: str
    body: str


# Placeholders: {pathway} (pseudonymous pathway reference), {team} (team id); the due line is appended.
_TEMPLATES: dict[NotificationKind, dict[Language, _Template]] = {
    NotificationKind.NEW_REFERRAL: {
        Language.FI: _Template(
            "Uusi lähete odottaa tiimin käsittelyä: {pathway}",
            "Tiimille {team} on saapunut uusi asiakas (polku {pathway}). "
            "Ottakaa asiakas tiimin käsittelyyn, valitkaa palvelupolku ja nimetkää asiakasvastaava.",
        ),
        Language.SV: _Template(
            "Ny remiss väntar på teamets behandling: {pathway}",
            "Teamet {team} har fått en ny klient (stig {pathway}). "
            "Ta upp klienten i teamets behandling, välj servicestig och utse en klientansvarig.",
        ),
        Language.EN: _Template(
            "New referral waiting for team triage: {pathway}",
            "Team {team} has a new client (pathway {pathway}). "
            "Triage the referral as a team, choose the route and name a case manager.",
        ),
    },
    NotificationKind.ASSIGNED_CASE_MANAGER: {
        Language.FI: _Template(
            "Sinut on nimetty asiakasvastaavaksi: {pathway}",
            "Sinut on nimetty asiakasvastaavaksi polulle {pathway} (tiimi {team}). "
            "Ota yhteyttä asiakkaaseen, tue oman tavoitteen asettamisessa ja sovi seuraava yhteydenotto.",
        ),
        Language.SV: _Template(
            "Du har utsetts till klientansvarig: {pathway}",
            "Du har utsetts till klientansvarig för stigen {pathway} (team {team}). "
            "Kontakta klienten, stöd klienten att formulera sitt eget mål och avtala nästa kontakt.",
        ),
        Language.EN: _Template(
            "You are now the case manager: {pathway}",
            "You have been named case manager of pathway {pathway} (team {team}). "
            "Contact the client, support them in setting their own goal and agree on the next contact.",
        ),
    },
    NotificationKind.HANDOVER_FROM: {
        Language.FI: _Template(
            "Asiakasvastaavuus siirtyy toiselle: {pathway}",
            "Asiakasvastaavuus polulla {pathway} (tiimi {team}) on siirretty toiselle ammattilaiselle. "
            "Varmista turvallinen siirto: kerro uudelle asiakasvastaavalle tilanne ja sovitut asiat.",
        ),
        Language.SV: _Template(
            "Klientansvaret överförs: {pathway}",
            "Klientansvaret för stigen {pathway} (team {team}) har överförts till en annan yrkesperson. "
            "Se till att överföringen är trygg: berätta för den nya klientansvariga om läget och det som avtalats.",
        ),
        Language.EN: _Template(
            "Case management handed over: {pathway}",
            "Case management of pathway {pathway} (team {team}) has been handed over to another professional. "
            "Make the handover safe: brief the new case manager on the situation and what has been agreed.",
        ),
    },
    NotificationKind.HANDOVER_TO: {
        Language.FI: _Template(
            "Sinulle on siirretty asiakasvastaavuus: {pathway}",
            "Sinusta on tullut asiakasvastaava polulle {pathway} (tiimi {team}). "
            "Tutustu polun tilanteeseen, sovi siirrosta edellisen asiakasvastaavan kanssa "
            "ja kerro asiakkaalle, kehen hän voi ottaa yhteyttä.",
        ),
        Language.SV: _Template(
            "Klientansvaret har överförts till dig: {pathway}",
            "Du är nu klientansvarig för stigen {pathway} (team {team}). "
            "Sätt dig in i läget, kom överens om överföringen med den tidigare klientansvariga "
            "och berätta för klienten vem hen kan kontakta.",
        ),
        Language.EN: _Template(
            "You have taken over as case manager: {pathway}",
            "You are now the case manager of pathway {pathway} (team {team}). "
            "Review the pathway, agree on the handover with the previous case manager "
            "and tell the client whom to contact.",
        ),
    },
    NotificationKind.FOLLOW_UP_DUE_SOON: {
        Language.FI: _Template(
            "Seurantayhteydenotto lähestyy: {pathway}",
            "Seuraava seurantayhteydenotto polulla {pathway} (tiimi {team}) on pian ajankohtainen. "
            "Ota yhteyttä asiakkaaseen ja kirjaa yhteydenotto.",
        ),
        Language.SV: _Template(
            "Uppföljningskontakten närmar sig: {pathway}",
            "Nästa uppföljningskontakt för stigen {pathway} (team {team}) ska snart göras. "
            "Kontakta klienten och registrera kontakten.",
        ),
        Language.EN: _Template(
            "Follow-up due soon: {pathway}",
            "The next follow-up contact on pathway {pathway} (team {team}) is due soon. "
            "Contact the client and record the follow-up.",
        ),
    },
    NotificationKind.FOLLOW_UP_OVERDUE: {
        Language.FI: _Template(
            "Seurantayhteydenotto on myöhässä: {pathway}",
            "Seurantayhteydenotto polulla {pathway} (tiimi {team}) on myöhässä, ja asia on viety tiimin käsittelyyn. "
            "Ota yhteyttä asiakkaaseen mahdollisimman pian ja kirjaa yhteydenotto.",
        ),
        Language.SV: _Template(
            "Uppföljningskontakten är försenad: {pathway}",
            "Uppföljningskontakten för stigen {pathway} (team {team}) är försenad och ärendet har förts till teamets "
            "behandling. Kontakta klienten så snart som möjligt och registrera kontakten.",
        ),
        Language.EN: _Template(
            "Follow-up overdue: {pathway}",
            "The follow-up contact on pathway {pathway} (team {team}) is overdue and the case has gone to team review. "
            "Contact the client as soon as possible and record the follow-up.",
        ),
    },
    NotificationKind.SERVICE_GAP: {
        Language.FI: _Template(
            "Asiakkaalla ei ole käynnissä olevaa palvelua: {pathway}",
            "Polulla {pathway} (tiimi {team}) ei ole tällä hetkellä yhtään käynnissä olevaa palvelua. "
            "Varmista, että seuraava palvelu alkaa, tai päivitä jatkosuunnitelma.",
        ),
        Language.SV: _Template(
            "Klienten har ingen pågående tjänst: {pathway}",
            "Stigen {pathway} (team {team}) har för närvarande ingen pågående tjänst. "
            "Se till att nästa tjänst börjar eller uppdatera den fortsatta planen.",
        ),
        Language.EN: _Template(
            "Service gap: {pathway}",
            "Pathway {pathway} (team {team}) has no active service at the moment. "
            "Make sure the next service starts, or revise the follow-up plan.",
        ),
    },
    NotificationKind.ESCALATED_TO_TEAM_REVIEW: {
        Language.FI: _Template(
            "Polku tiimin käsittelyyn: {pathway}",
            "Polku {pathway} on tuotu tiimin {team} käsittelyyn. "
            "Katso syy tiimin käsittelylistalta ja tehkää päätös jatkosta.",
        ),
        Language.SV: _Template(
            "Stigen till teamets behandling: {pathway}",
            "Stigen {pathway} har förts till teamet {team} för behandling. "
            "Se orsaken i teamets behandlingslista och fatta beslut om hur arbetet fortsätter.",
        ),
        Language.EN: _Template(
            "Pathway brought to team review: {pathway}",
            "Pathway {pathway} has been brought to team {team} for review. "
            "See the cause in the team's review list and decide how to continue.",
        ),
    },
    NotificationKind.TEAM_REVIEW_DECIDED: {
        Language.FI: _Template(
            "Tiimin käsittelyn päätös: {pathway}",
            "Tiimi {team} on tehnyt päätöksen polun {pathway} käsittelyssä. "
            "Katso päätös polun aikajanalta ja jatka sen mukaisesti.",
        ),
        Language.SV: _Template(
            "Teamets beslut: {pathway}",
            "Teamet {team} har fattat beslut i behandlingen av stigen {pathway}. "
            "Se beslutet i stigens tidslinje och fortsätt enligt det.",
        ),
        Language.EN: _Template(
            "Team review decided: {pathway}",
            "Team {team} has decided the review of pathway {pathway}. "
            "See the decision on the pathway's timeline and continue accordingly.",
        ),
    },
    NotificationKind.SUSTAINMENT_CHECK_DUE: {
        Language.FI: _Template(
            "Ratkaisun pysyvyys tarkistettava: {pathway}",
            "Seurantajakso polulla {pathway} (tiimi {team}) on päättynyt. "
            "Tarkista asiakkaan kanssa, onko pitkäaikainen ratkaisu pitänyt, ja kirjaa tulos.",
        ),
        Language.SV: _Template(
            "Kontrollera att lösningen håller: {pathway}",
            "Uppföljningsperioden för stigen {pathway} (team {team}) har tagit slut. "
            "Kontrollera med klienten om den långsiktiga lösningen har hållit och registrera resultatet.",
        ),
        Language.EN: _Template(
            "Sustainment check due: {pathway}",
            "The sustainment period of pathway {pathway} (team {team}) has ended. "
            "Check with the client whether the long-term solution has held, and record the result.",
        ),
    },
}

# Added when the notification was meant for a case manager whose account has been deactivated and goes to
# the team's coordinators instead, who must name a new case manager.
_HANDOVER_LINE = {
    Language.FI: "Polun asiakasvastaavan käyttäjätunnus on poistettu käytöstä, joten ilmoitus tulee tiimin "
    "koordinaattorille. Nimetkää polulle uusi asiakasvastaava.",
    Language.SV: "Stigens klientansvariga har inaktiverats, därför går meddelandet till teamets koordinator. "
    "Utse en ny klientansvarig för stigen.",
    Language.EN: "The pathway's case manager has been deactivated, so this notice goes to the team's coordinators. "
    "Name a new case manager for the pathway.",
}
_DUE_LINE = {Language.FI: "Määräaika: {due}", Language.SV: "Senast: {due}", Language.EN: "Due: {due}"}
_FOOTER = {
    Language.FI: "Tämä on automaattinen ilmoitus työkyvyn tuen palvelupolkujärjestelmästä.",
    Language.SV: "Detta är ett automatiskt meddelande från systemet för servicestigar för stöd för arbetsförmågan.",
    Language.EN: "This is an automatic notice from the work-ability support pathway system.",
}


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
    template = _TEMPLATES[kind][language]
    subject = template.subject.format(pathway=pathway_id, team=team)
    lines = [template.body.format(pathway=pathway_id, team=team)]
    if case_manager_deactivated:
        lines.append(_HANDOVER_LINE[language])
    if due_at is not None:
        due = due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(_DUE_LINE[language].format(due=due))
    lines.append("")
    lines.append(_FOOTER[language])
    return NotificationText(subject=subject, body="\n".join(lines))
