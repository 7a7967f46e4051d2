"""The client's plan summary: their own copy of the plan, in their language (fi, sv or en, from the referral),
in plain words, to print or send as a PDF.

What it holds, and only that: the case manager's name and how to reach them, the team's general contact, the
client's own goals (with the expected level of a GAS goal), the services with their providers and dates, the
next contact and meeting, and whom to call if something stops or goes wrong. No identity code, no notes, no
client text but the client's own goals. Built from the record by a pure function; the routes audit the read.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import matplotlib
import segno
from fpdf import FPDF
from pydantic import BaseModel

from core.i18n import format_date, gettext
from models.pathway import Language, ServiceKind, ServiceStatus
from models.record import PathwayRecord
from models.tables import Staff, Team

# DejaVu Sans comes with matplotlib (a dependency already): every letter of Finnish and Swedish, and the dashes.
FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
FONT_BOLD = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"


class Contact(BaseModel):
    name: str
    phone: str | None = None
    email: str | None = None
    hours: str | None = None


class SummaryGoal(BaseModel):
    text: str
    expected: str | None = None  # a GAS goal's expected level, in the client's words


class SummaryService(BaseModel):
    kind: ServiceKind
    provider: str
    starts: datetime
    ends: datetime | None = None
    remote: bool = False
    active: bool = False


class PlanSummary(BaseModel):
    language: Language
    case_manager: Contact | None
    team: Contact
    goals: list[SummaryGoal]
    services: list[SummaryService]
    next_contact: datetime | None = None
    next_meeting: datetime | None = None
    next_meeting_remote: bool = False
    plan_version: int | None = None
    made_on: datetime


def plan_summary(record: PathwayRecord, *, case_manager: Staff | None, team: Team, now: datetime) -> PlanSummary:
    """The summary of the plan as it stands: only what the client needs, nothing they did not say themselves."""
    manager = (
        Contact(
            name=case_manager.display_name,
            phone=case_manager.work_phone,
            email=case_manager.email,
            hours=case_manager.contact_hours,
        )
        if case_manager is not None
        else None
    )
    meeting = record.next_network_meeting
    return PlanSummary(
        language=record.referral.client_language,
        case_manager=manager,
        team=Contact(name=team.name, phone=team.contact_phone, email=team.contact_email),
        goals=[
            SummaryGoal(text=goal.text, expected=goal.gas_expected if goal.is_gas else None)
            for goal in record.goals
            if not goal.achieved
        ],
        services=[
            SummaryService(
                kind=service.kind,
                provider=service.provider,
                starts=service.planned_start,
                ends=service.planned_end,
                remote=service.remote,
                active=service.status is ServiceStatus.ACTIVE,
            )
            for service in record.services
            if service.status in (ServiceStatus.PLANNED, ServiceStatus.ACTIVE)
        ],
        next_contact=record.next_follow_up_due,
        next_meeting=meeting.at if meeting else None,
        next_meeting_remote=bool(meeting and meeting.remote),
        plan_version=record.plan.version if record.plan else None,
        made_on=now,
    )


def texts(language: str) -> dict[str, str]:
    """The summary's words in the client's language (the page and the PDF say the same)."""
    return {
        "title": gettext(language, "Your work-ability plan"),
        "made_on": gettext(language, "Made on"),
        "contact": gettext(language, "Your contact person"),
        "contact_lead": gettext(
            language, "Call or write to your contact person when you have questions or when something changes."
        ),
        "phone": gettext(language, "Phone"),
        "email": gettext(language, "E-mail"),
        "hours": gettext(language, "When to call"),
        "team": gettext(language, "The work-ability team"),
        "goals": gettext(language, "Your own goals"),
        "expected": gettext(language, "What we expect to reach"),
        "no_goals": gettext(language, "You have not set goals yet."),
        "services": gettext(language, "Your services"),
        "no_services": gettext(language, "No services planned yet."),
        "period_from": gettext(language, "from {start}"),
        "period": gettext(language, "{start} to {end}"),
        "remote": gettext(language, "remote"),
        "ongoing": gettext(language, "ongoing"),
        "next": gettext(language, "What happens next"),
        "next_contact": gettext(language, "Your contact person contacts you by"),
        "next_meeting": gettext(language, "Network meeting"),
        "feedback": gettext(language, "Tell us how the support has been"),
        "feedback_text": gettext(
            language, "Open this address, or scan the code with your phone. It takes a minute and needs no account."
        ),
        "trouble": gettext(language, "If something stops or goes wrong"),
        "trouble_text": gettext(
            language,
            "If a service ends, does not start or does not feel right, or you cannot reach your contact person, "
            "contact the work-ability team. You will not be left without support.",
        ),
    }


def service_period(service: SummaryService, language: str) -> str:
    """When a service runs, in the client's words: "from 2.3.2026", "2.3.2026 to 30.6.2026"."""
    start = format_date(service.starts, language)
    if service.ends is None:
        return gettext(language, "from {start}").format(start=start)
    return gettext(language, "{start} to {end}").format(start=start, end=format_date(service.ends, language))


def summary_pdf(summary: PlanSummary, kind_label: dict[str, str], feedback_url: str | None = None) -> bytes:
    """The summary as a PDF of one or two A4 pages, with the same words as the page (and, when the client has an
    open feedback link, its address and QR code). `kind_label` words the service kinds in the client's language."""
    language = summary.language.value
    words = texts(language)
    pdf = FPDF(format="A4")
    pdf.set_title(words["title"])
    pdf.set_lang(language)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: int = 14) -> None:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(width, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 11)

    def line(text: str) -> None:
        pdf.multi_cell(width, 6, text, new_x="LMARGIN", new_y="NEXT")

    heading(words["title"], 18)
    line(f"{words['made_on']} {format_date(summary.made_on, language)}")
    heading(words["contact"])
    line(words["contact_lead"])
    for contact in [c for c in (summary.case_manager, summary.team) if c is not None]:
        pdf.set_font("DejaVu", "B", 11)
        line(contact.name if contact is summary.case_manager else f"{words['team']}: {contact.name}")
        pdf.set_font("DejaVu", "", 11)
        for key, value in (("phone", contact.phone), ("email", contact.email), ("hours", contact.hours)):
            if value:
                line(f"{words[key]}: {value}")
    heading(words["goals"])
    for goal in summary.goals:
        line(f"• {goal.text}")
        if goal.expected:
            line(f"   {words['expected']}: {goal.expected}")
    if not summary.goals:
        line(words["no_goals"])
    heading(words["services"])
    for service in summary.services:
        period = service_period(service, language)
        extras = ", ".join(
            word for word, flag in ((words["ongoing"], service.active), (words["remote"], service.remote)) if flag
        )
        line(f"• {kind_label[service.kind.value]}: {service.provider}, {period}" + (f" ({extras})" if extras else ""))
    if not summary.services:
        line(words["no_services"])
    if summary.next_contact or summary.next_meeting:
        heading(words["next"])
        if summary.next_contact:
            line(f"{words['next_contact']} {format_date(summary.next_contact, language)}")
        if summary.next_meeting:
            remote = f" ({words['remote']})" if summary.next_meeting_remote else ""
            line(f"{words['next_meeting']}: {format_date(summary.next_meeting, language)}{remote}")
    if feedback_url:
        heading(words["feedback"])
        line(words["feedback_text"])
        line(feedback_url)
        png = io.BytesIO()
        segno.make(feedback_url, error="m").save(png, kind="png", scale=4, border=2)
        png.seek(0)
        pdf.image(png, w=35, alt_text=words["feedback"])
    heading(words["trouble"])
    line(words["trouble_text"])
    team = summary.team
    line(" · ".join(part for part in (team.name, team.phone, team.email) if part))
    return bytes(pdf.output())
