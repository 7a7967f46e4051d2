"""The staff web app's pages: thin, on the same services, access path and audit as the JSON API.

Every page that shows pathways takes the API's own access dependencies (`pathway_access`, `team_access`)
with the browser's session as the sign-in, so each read writes the same audit line as the API's. An
action's form posts to the action's own route here, which runs the action through the same service as the
API; a refusal re-renders the page with the rule's reason next to the form and nothing changed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from api.access import (
    PathwayGrant,
    ReadPurpose,
    TeamGrant,
    audited,
    pathway_access,
    purpose_in_context,
    team_access,
)
from api.auth.sessions import safe_return_path
from api.deps import SealerDep, SessionDep, SettingsDep, TemporalClientDep
from api.errors import ApiError, ConflictError, ForbiddenError, InvalidInputError
from api.schemas import HandoverRequest, HandoverResults, PathwayRead
from api.services import audit as audit_service
from api.services import handovers as handover_service
from api.services import notifications as notification_service
from api.services import partners as partner_service
from api.services import pathways as pathway_service
from api.services import staff as staff_service
from api.services.actions import act
from api.services.audit import AuditOutcome
from api.services.exports import FHIR_JSON, ReportFormat, fhir_export, outcomes
from api.services.exports import render as render_report
from core.settings import Settings
from models.actions import IntakeRequest
from models.pathway import Stage
from models.process import ActionWarning, WarningCode
from models.tables import Staff, StaffRole, StaffTeam
from records.store import PathwayQuery
from web import forms, summary, work_ability
from web.coverage import service_coverage
from web.deps import LANGUAGE_COOKIE, FormToken, PageDep, get_web_staff
from web.labels import choices, code_label
from web.templating import LANGUAGES, render
from workflows.actions import ACTIONS, BY_NAME, StaffAction

router = APIRouter(include_in_schema=False)
OVERDUE_FIRST_LIMIT = 500
TIMELINE_PAGE = 50


def _form_dict(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


# -- the caseload and the team --------------------------------------------------------------------------------


def _due_this_week(item: Any, now: datetime) -> bool:
    return item.next_deadline_at is not None and item.next_deadline_at <= now + timedelta(days=7)


@router.get("/")
async def caseload(
    request: Request,
    page: PageDep,
    grant: Annotated[
        TeamGrant, team_access("read_caseload", signed_in=get_web_staff, purpose_in_context=ReadPurpose.CLIENT_WORK)
    ],
    stage: Stage | None = None,
) -> Response:
    items = await pathway_service.caseload(grant=grant)
    if stage is not None:
        items = [item for item in items if item.stage is stage]
    # Overdue first, then by what is due soonest (the service sorts by the deadline).
    items.sort(key=lambda item: (not item.overdue, item.next_deadline_at or datetime.max.replace(tzinfo=UTC)))
    now = datetime.now(UTC)
    return render(
        request,
        "caseload.html",
        page.language,
        page=page,
        items=items,
        week=[item for item in items if _due_this_week(item, now)],
        stages=choices(Stage, page.language),
        stage=stage.value if stage else "",
        nav="caseload",
    )


@router.get("/team")
async def team_view(
    request: Request,
    page: PageDep,
    grant: Annotated[
        TeamGrant,
        team_access(
            "list_pathways",
            coordinator_only=True,
            signed_in=get_web_staff,
            purpose_in_context=ReadPurpose.SUPERVISION,
        ),
    ],
    stage: Stage | None = None,
) -> Response:
    query = PathwayQuery(teams=grant.teams, stage=stage, open=True)
    listing = await pathway_service.list_pathways(grant=grant, query=query, page_size=100, page_token=None)
    by_case_manager: dict[str, list[Any]] = {}
    for item in listing.items:
        by_case_manager.setdefault(item.case_manager or "", []).append(item)
    # A case manager's pathways can be handed over in one go where the page shows one team.
    handover_team = grant.team or (grant.teams[0] if len(grant.teams) == 1 else None)
    handover_staff = (
        await asyncio.to_thread(_team_staff, grant.session, handover_team) if handover_team is not None else []
    )
    people = await asyncio.to_thread(staff_service.display_names, grant.session, set(by_case_manager) - {""})
    return render(
        request,
        "team.html",
        page.language,
        page=page,
        groups=sorted(by_case_manager.items(), key=lambda group: (group[0] == "", group[0])),
        teams=grant.teams,
        team=grant.team or "",
        stages=choices(Stage, page.language),
        stage=stage.value if stage else "",
        more=listing.next_page_token is not None,
        handover_team=handover_team,
        handover_staff=handover_staff,
        handover_key=uuid.uuid4().hex,
        people=people,
        nav="team",
    )


@router.post("/team/handovers", dependencies=[FormToken])
async def hand_over_pathways(
    request: Request,
    page: PageDep,
    session: SessionDep,
    client: TemporalClientDep,
    team: Annotated[str, Form(max_length=64)] = "",
    from_case_manager: Annotated[str, Form(max_length=64)] = "",
    to_case_manager: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    handover_key: Annotated[str, Form(pattern=r"^[0-9a-f]{32}$")] = "",
) -> Response:
    """All open pathways of one case manager to another, one result per pathway (the API's own service)."""
    try:
        body = HandoverRequest(from_case_manager=from_case_manager, to_case_manager=to_case_manager, reason=reason)
    except ValidationError as err:
        problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        return _handover_page(request, page, team, from_case_manager, None, problem, 422, session)
    try:
        async with audited(session, page.staff, f"hand_over_pathways:{team}/{from_case_manager}"):
            results = await handover_service.hand_over_many(
                client=client,
                session=session,
                staff=page.staff,
                team=team,
                request=body,
                idempotency_key=f"web-handover-{handover_key}" if handover_key else None,
            )
    except ForbiddenError as err:
        return _handover_page(request, page, team, from_case_manager, None, err.detail, 403, session)
    except ApiError as err:
        return _handover_page(request, page, team, from_case_manager, None, err.detail, 422, session)
    return _handover_page(request, page, team, from_case_manager, results, None, 200, session)


def _handover_page(
    request: Request,
    page: PageDep,
    team: str,
    from_case_manager: str,
    results: HandoverResults | None,
    error: str | None,
    status: int,
    session: Session,
) -> Response:
    named = {from_case_manager} | {r.to_case_manager for r in (results.results if results else []) if r.to_case_manager}
    return render(
        request,
        "handover_results.html",
        page.language,
        status,
        page=page,
        people=staff_service.display_names(session, named),
        team=team,
        from_case_manager=from_case_manager,
        results=results,
        error=error,
        nav="team",
    )


# -- intake ------------------------------------------------------------------------------------------------------

INTAKE_SKIP = {"demo", "policy", "referred_at"}


def _intake_page(
    request: Request, page: PageDep, values: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    fields = forms.describe(IntakeRequest, page.language, skip=INTAKE_SKIP)
    for spec in fields:
        if spec.name == "team":
            spec.widget = "select"
            spec.choices = [(team, team) for team in sorted(page.staff.teams)]
    return render(
        request,
        "intake.html",
        page.language,
        status,
        page=page,
        fields=fields,
        values=values,
        errors=errors,
        nav="intake",
    )


@router.get("/intake")
async def intake_form(request: Request, page: PageDep) -> Response:
    return _intake_page(request, page, {"team": sorted(page.staff.teams)[0] if page.staff.teams else ""}, {}, 200)


@router.post("/intake", dependencies=[FormToken])
async def intake(
    request: Request, page: PageDep, session: SessionDep, client: TemporalClientDep, settings: SettingsDep
) -> Response:
    values = _form_dict(await request.form())
    try:
        body = forms.parse(IntakeRequest, values, page.language)
    except forms.FormErrors as errors:
        return _intake_page(request, page, values, errors.messages, 422)
    try:
        async with audited(session, page.staff, "start", None) as line:
            receipt = await pathway_service.start(
                client=client, session=session, staff=page.staff, task_queue=settings.task_queue, body=body, audit=line
            )
    except InvalidInputError as err:
        return _intake_page(request, page, values, {err.field: err.detail}, 422)
    except ConflictError as err:
        return _intake_page(request, page, values, {"": err.detail}, 409)
    return RedirectResponse(f"/app/pathways/{receipt.pathway_id}?done=start", status_code=303)


# -- one pathway ---------------------------------------------------------------------------------------------------


def _team_staff(session: Session, team: str) -> list[tuple[str, str]]:
    rows = session.exec(
        select(Staff)
        .join(StaffTeam, col(StaffTeam.staff_id) == col(Staff.staff_id))
        .where(StaffTeam.team_id == team, col(Staff.active).is_(True), Staff.role != StaffRole.ADMIN)
        .order_by(col(Staff.display_name))
    ).all()
    return [(staff.staff_id, f"{staff.display_name} ({staff.staff_id})") for staff in rows]


def _people_of(record: PathwayRead) -> set[str]:
    """The staff the pathway page names: its case managers, who proposed, asked, scored, recorded, opened."""
    named = {record.case_manager, record.referral.registered_by}
    named |= {period.staff_id for period in record.case_manager_history}
    named |= {period.assigned_by for period in record.case_manager_history}
    if record.handover is not None:
        named |= {record.handover.from_case_manager, record.handover.to_case_manager, record.handover.proposed_by}
    named |= {answer.asked_by for answer in record.work_ability}
    named |= {score.scored_by for goal in record.goals for score in goal.scores}
    named |= {follow_up.recorded_by for follow_up in record.follow_ups}
    named |= {review.opened_by for review in record.team_reviews}
    return {staff_id for staff_id in named if staff_id}


def _team_partners(session: Session, team: str) -> list[tuple[str, str]]:
    return [
        (partner.partner_id, f"{partner.name} ({partner.partner_id})")
        for partner in partner_service.list_partners(session, team)
    ]


def _action_forms(
    page: PageDep, record: PathwayRead, staff_choices: list[tuple[str, str]], partner_choices: list[tuple[str, str]]
) -> dict[str, list[forms.Field]]:
    """The forms of the actions the API lists as available to this staff member now
    (`PathwayRead.available_actions`, from the actions' declarations), in their declared order."""
    offered: dict[str, list[forms.Field]] = {}
    for available in record.available_actions:
        action = BY_NAME[available.name]
        fields = forms.describe(action.fields, page.language, skip=set(action.path_fields) - forms.HIDDEN)
        for spec in fields:
            if spec.widget == "staff":
                spec.choices = staff_choices
                spec.widget = "select"
            elif spec.widget == "partner":
                spec.choices = partner_choices
                spec.widget = "select"
            elif spec.widget == "participants":
                spec.rows = forms.participant_rows(page.language, staff_choices, partner_choices)
        offered[action.name] = fields
    return offered


def _warnings_query(warnings: list[ActionWarning]) -> str:
    """An action's warnings for the page after the redirect: codes and dates, never client text."""

    def text(moment: datetime | None) -> str:
        return moment.isoformat() if moment else ""

    return "".join(
        "&" + urlencode({"warn": f"{w.code.value}|{text(w.starts)}|{text(w.ends)}|{w.service_id or ''}"})
        for w in warnings
    )


def _warnings_from(values: list[str]) -> list[dict[str, Any]]:
    shown = []
    for value in values[:20]:
        code, _, rest = value.partition("|")
        starts, _, rest = rest.partition("|")
        ends, _, service_id = rest.partition("|")
        try:
            shown.append(
                {
                    "code": WarningCode(code),
                    "starts": datetime.fromisoformat(starts) if starts else None,
                    "ends": datetime.fromisoformat(ends) if ends else None,
                    "service_id": service_id or None,
                }
            )
        except ValueError:
            continue  # a hand-edited address: show nothing rather than fail
    return shown


async def _pathway_page(
    request: Request,
    page: PageDep,
    grant: PathwayGrant,
    client: Any,
    sealer: Any,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status: int = 200,
    done: str | None = None,
    after: int = 0,
    warnings: list[str] | None = None,
) -> Response:
    record = await pathway_service.read(client=client, sealer=sealer, grant=grant)
    timeline = await pathway_service.timeline(
        client=client,
        grant=grant,
        page_size=TIMELINE_PAGE,
        page_token=pathway_service.timeline_page_token(after) if after else None,
    )
    staff_choices = await asyncio.to_thread(_team_staff, grant.session, grant.pathway.team)
    partner_choices = await asyncio.to_thread(_team_partners, grant.session, grant.pathway.team)
    people = await asyncio.to_thread(
        staff_service.display_names,
        grant.session,
        _people_of(record) | {entry.actor for entry in timeline.items} | {staff_id for staff_id, _ in staff_choices},
    )
    offered = _action_forms(page, record, staff_choices, partner_choices)
    settings: Settings = request.app.state.settings
    feedback_links = await asyncio.to_thread(
        summary.feedback_links_of, grant.session, grant.pathway_id, settings, page.language
    )
    ask_work_ability = work_ability.ask_now(record, done, datetime.now(UTC))
    if "record_work_ability" not in offered:
        ask_work_ability = None
    if not values:
        values = {}
        if ask_work_ability is not None:
            # The seeds' flow asks for the client's Work Ability Score here: its form opens, the occasion chosen.
            values["record_work_ability:"] = {"occasion": ask_work_ability.value, "_open": "1"}
        if record.stage is Stage.SUSTAINMENT:
            # Following the solution: a GAS goal's score now is its final one.
            values |= {f"score_goal:{goal.goal_id}": {"occasion": "closing"} for goal in record.gas_goals()}
    # A refusal of an action whose form is not on the page (a stale page, the stage moved on) is said at the top.
    stray = [
        message
        for key, messages in (errors or {}).items()
        if key.split(":")[0] not in offered
        for message in messages.values()
    ]
    return render(
        request,
        "pathway.html",
        page.language,
        status,
        page=page,
        record=record,
        timeline=timeline,
        coverage=service_coverage(record.services, datetime.now(UTC)),
        offered=offered,
        stray_errors=stray,
        errors=errors or {},
        values=values or {},
        done=done,
        warnings=_warnings_from(warnings or []),
        partners=dict(partner_choices),
        people=people,
        ask_work_ability=ask_work_ability,
        feedback_links=feedback_links,
        unscored_gas_goals=work_ability.gas_goals_without_closing_score(record),
        nav="",
    )


@router.get("/pathways/{pathway_id}")
async def pathway(
    request: Request,
    page: PageDep,
    grant: Annotated[
        PathwayGrant, pathway_access("read_pathway", signed_in=get_web_staff, read=True, infer_purpose=True)
    ],
    client: TemporalClientDep,
    sealer: SealerDep,
    done: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    warn: Annotated[list[str] | None, Query(max_length=200)] = None,
) -> Response:
    return await _pathway_page(request, page, grant, client, sealer, done=done, after=after, warnings=warn)


@router.get("/pathways/{pathway_id}/fhir")
async def pathway_fhir(
    grant: Annotated[
        PathwayGrant, pathway_access("export_fhir", signed_in=get_web_staff, read=True, infer_purpose=True)
    ],
    client: TemporalClientDep,
    sealer: SealerDep,
    settings: SettingsDep,
) -> Response:
    import json

    bundle = await fhir_export(client=client, sealer=sealer, grant=grant, settings=settings)
    return Response(
        json.dumps(bundle, indent=2, ensure_ascii=False),
        media_type=FHIR_JSON,
        headers={
            "Content-Disposition": f'attachment; filename="{grant.pathway_id}.fhir.json"',
            "Cache-Control": "no-store",
        },
    )


def _action_route(action: StaffAction[Any]) -> None:
    async def run(
        request: Request,
        page: PageDep,
        grant: PathwayGrant,
        client: TemporalClientDep,
        sealer: SealerDep,
        idempotency_key: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        form = _form_dict(await request.form())
        try:
            fields = forms.parse(action.fields, form, page.language)
            answer = await act(
                client=client,
                grant=grant,
                action=action,
                fields=fields,
                idempotency_key=idempotency_key or None,
            )
        except forms.FormErrors as errors:
            grant.refused = InvalidInputError("the form's fields were refused", field="form")
            return await _refused(request, page, grant, client, sealer, action, form, errors.messages, 422)
        except (ConflictError, InvalidInputError) as err:
            grant.refused = err
            field = getattr(err, "field", "")
            return await _refused(request, page, grant, client, sealer, action, form, {field: err.detail}, 409)
        warnings = _warnings_query(answer.warnings)
        # Where the seeds' flow asks for the Work Ability Score, the page opens at its form.
        anchor = "record_work_ability" if action.name in work_ability.ASKS_WORK_ABILITY else action.name
        return RedirectResponse(
            f"/app/pathways/{grant.pathway_id}?done={action.name}&purpose={_acting_purpose(page, grant)}"
            f"{warnings}#{anchor}",
            status_code=303,
        )

    # This module's annotations are strings resolved in its namespace, where `action` is not: the access
    # dependency of this action goes in as an object.
    run.__annotations__["grant"] = Annotated[
        PathwayGrant,
        pathway_access(
            action.name, coordinator_only=action.coordinator_only, signed_in=get_web_staff, waits_on_workflow=True
        ),
    ]
    router.add_api_route(
        f"/pathways/{{pathway_id}}/do/{action.name}",
        run,
        methods=["POST"],
        dependencies=[FormToken],
        name=f"web_{action.name}",
    )


def _acting_purpose(page: PageDep, grant: PathwayGrant) -> str:
    """Why the page after an action is read: as the context says, or else the work on the client's case that
    the member was just doing."""
    return purpose_in_context(page.staff, grant.pathway) or ReadPurpose.CLIENT_WORK.value


async def _refused(
    request: Request,
    page: PageDep,
    grant: PathwayGrant,
    client: Any,
    sealer: Any,
    action: StaffAction[Any],
    form: dict[str, str],
    messages: dict[str, str],
    status: int,
) -> Response:
    """The page again, the reason beside the form; the re-read of the record is audited as a read."""
    key = f"{action.name}:{next((form[item] for item in forms.HIDDEN if form.get(item)), '')}"
    await asyncio.to_thread(
        audit_service.record,
        grant.session,
        staff_id=page.staff.staff_id,
        pathway_id=grant.pathway_id,
        action="read_pathway",
        outcome=AuditOutcome.OK,
        # The member was acting on the pathway: the page they see again is read for that work.
        purpose=_acting_purpose(page, grant),
    )
    return await _pathway_page(
        request, page, grant, client, sealer, errors={key: messages}, values={key: form}, status=status
    )


for _action in ACTIONS:
    _action_route(_action)


# -- team reviews, the inbox, the report, the language -------------------------------------------------------------


@router.get("/reviews")
async def reviews(
    request: Request,
    page: PageDep,
    sealer: SealerDep,
    grant: Annotated[
        TeamGrant,
        team_access(
            "list_team_reviews",
            coordinator_only=True,
            signed_in=get_web_staff,
            purpose_in_context=ReadPurpose.TEAM_REVIEW,
        ),
    ],
) -> Response:
    pending = await pathway_service.pending_team_reviews(sealer=sealer, grant=grant)
    pending.sort(key=lambda review: review.opened_at)  # oldest first
    decide = next(action for action in ACTIONS if action.name == "decide_team_review")
    fields = forms.describe(decide.fields, page.language)
    staff_choices: dict[str, list[tuple[str, str]]] = {}
    for team in {review.team for review in pending}:
        staff_choices[team] = await asyncio.to_thread(_team_staff, grant.session, team)
    named = {review.opened_by for review in pending} | {
        review.case_manager for review in pending if review.case_manager
    }
    people = await asyncio.to_thread(staff_service.display_names, grant.session, named)
    return render(
        request,
        "reviews.html",
        page.language,
        page=page,
        people=people,
        pending=pending,
        fields=fields,
        staff_choices=staff_choices,
        nav="reviews",
    )


@router.get("/inbox")
async def inbox(request: Request, page: PageDep, session: SessionDep) -> Response:
    items = await asyncio.to_thread(
        notification_service.inbox, session, staff_id=page.staff.staff_id, unread_only=False, limit=100, offset=0
    )
    return render(request, "inbox.html", page.language, page=page, items=items, nav="inbox")


@router.post("/inbox/{notification_id}/read", dependencies=[FormToken])
async def mark_read(notification_id: int, page: PageDep, session: SessionDep) -> Response:
    await asyncio.to_thread(
        notification_service.mark_read, session, staff_id=page.staff.staff_id, notification_id=notification_id
    )
    return RedirectResponse("/app/inbox", status_code=303)


def _period(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInputError(f"{value!r} is not a date (yyyy-mm-dd)", field="from") from None


@router.get("/reports")
async def report(
    request: Request,
    page: PageDep,
    grant: Annotated[
        TeamGrant,
        team_access(
            "report_outcomes",
            coordinator_only=True,
            signed_in=get_web_staff,
            purpose_in_context=ReadPurpose.REPORTING,
        ),
    ],
    period_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    period_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    start, end = _period(period_from), _period(period_to)
    result = await outcomes(grant=grant, team=grant.team, period_from=start, period_to=end)
    filters = {name: value for name, value in (("team", grant.team), ("from", period_from), ("to", period_to)) if value}
    return render(
        request,
        "report.html",
        page.language,
        page=page,
        report=result,
        query=f"?{urlencode(filters)}" if filters else "",
        teams=grant.teams,
        team=grant.team or "",
        period_from=period_from or "",
        period_to=period_to or "",
        nav="reports",
    )


def _labels(language: str) -> Callable[[str], str]:
    """The report's codes in the reader's words, for its charts."""
    return lambda value: code_label(value, language)


@router.get("/reports/outcome-report.{extension}")
async def report_download(
    page: PageDep,
    grant: Annotated[
        TeamGrant,
        team_access(
            "report_outcomes",
            coordinator_only=True,
            signed_in=get_web_staff,
            purpose_in_context=ReadPurpose.REPORTING,
        ),
    ],
    extension: Annotated[ReportFormat, Path(description="csv or pdf")],
    period_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    period_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    """The report to keep or print: a CSV in the reader's spreadsheet conventions, or a printable PDF."""
    if extension not in (ReportFormat.CSV, ReportFormat.PDF):
        raise InvalidInputError("the report downloads as csv or pdf", field="extension")
    result = await outcomes(
        grant=grant, team=grant.team, period_from=_period(period_from), period_to=_period(period_to)
    )
    body, media_type = await asyncio.to_thread(render_report, result, extension, page.language, _labels(page.language))
    return Response(
        body,
        media_type=media_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="outcome-report.{extension.value}"',
        },
    )


@router.get("/reports/chart.png")
async def report_chart(
    page: PageDep,
    grant: Annotated[
        TeamGrant,
        team_access(
            "report_outcomes",
            coordinator_only=True,
            signed_in=get_web_staff,
            purpose_in_context=ReadPurpose.REPORTING,
        ),
    ],
    period_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    period_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    result = await outcomes(
        grant=grant, team=grant.team, period_from=_period(period_from), period_to=_period(period_to)
    )
    body, media_type = await asyncio.to_thread(
        render_report, result, ReportFormat.PNG, page.language, _labels(page.language)
    )
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})


@router.post("/language")
async def choose_language(
    language: Annotated[str, Form(max_length=2)], back: Annotated[str, Form(max_length=2000)] = "/app/"
) -> Response:
    response = RedirectResponse(safe_return_path(back), status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True, path="/")
    return response
