"""The one access path to a pathway: who may read or act on it, and the audit line that says they did.

`pathway_access(...)` is the dependency every pathway route takes (state, timeline, follow-ups, actions,
FHIR, the audit trail); `team_access(...)` the one for listings and reports; the codec server calls
`authorize_pathway` and `audit` directly for each pathway a decode shows. Every use writes one audit line
per pathway with the outcome (allowed, denied, not found, refused ...) and, when the caller gave one, the
purpose, in the request's own time: the line is committed before the response leaves (`scope="function"`),
so there is no read without its line ("no audit, no data").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Path, Query
from sqlmodel import Session

from api.deps import SessionDep, get_current_staff
from api.errors import (
    ApiError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    TemporalUnavailableError,
)
from api.services import audit
from api.services.audit import AuditOutcome
from api.services.staff import StaffMember
from models.pathway import PATHWAY_ID_PATTERN
from models.tables import AuditLogEntry, PathwayRow
from workflows.actions import ACTIONS

ADMIN_NO_PATHWAYS = "administrators manage staff and teams and do not read or act on client pathways"

PathwayIdPath = Annotated[
    str,
    Path(
        pattern=PATHWAY_ID_PATTERN, description="The pathway id, e.g. pathway-client-4f2a9c or pathway-client-4f2a9c.2"
    ),
]


class ReadPurpose(StrEnum):
    """Why someone reads a client's pathway: the first word of every read's audit line."""

    CLIENT_WORK = "client_work"  # working with the client: their case manager, or the team member they see
    SUPERVISION = "supervision"  # a coordinator of the team, following the team's pathways
    TEAM_REVIEW = "team_review"  # the team reviews the case
    HANDOVER = "handover"  # handing the case over, or taking it over
    REPORTING = "reporting"  # the programme's reports and statistics
    CLIENT_REQUEST = "client_request"  # the client asked what is recorded about them, or who read it


PURPOSES_TEXT = ", ".join(purpose.value for purpose in ReadPurpose)
Purpose = Annotated[
    str | None,
    Query(
        max_length=300,
        description=f"Why you read this, kept in the audit log the client may ask to see: one of {PURPOSES_TEXT}, "
        "optionally followed by ': ' and a note (e.g. `supervision: monthly check`). Required on reads.",
        examples=["client_work"],
    ),
]


class PurposeRequired(InvalidInputError):
    """A read without a purpose (the web app asks for one; the API answers 422)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="purpose")


def read_purpose(purpose: str | None) -> str:
    """The purpose of a read, checked: a known purpose, optionally with a note."""
    if not purpose:
        raise PurposeRequired(f"say why you read this: purpose is one of {PURPOSES_TEXT} (e.g. ?purpose=client_work)")
    code, _, note = purpose.partition(":")
    if code.strip() not in {item.value for item in ReadPurpose}:
        raise PurposeRequired(f"purpose {code.strip()!r} is not one of {PURPOSES_TEXT}")
    return f"{code.strip()}: {note.strip()}" if note.strip() else code.strip()


_OUTCOMES: tuple[tuple[type[ApiError], AuditOutcome], ...] = (
    (ForbiddenError, AuditOutcome.DENIED),
    (NotFoundError, AuditOutcome.NOT_FOUND),
    (ConflictError, AuditOutcome.REJECTED),
    (InvalidInputError, AuditOutcome.INVALID),
    (TemporalUnavailableError, AuditOutcome.UNAVAILABLE),
)


def outcome_of(error: BaseException | None) -> AuditOutcome:
    if error is None:
        return AuditOutcome.OK
    return next((outcome for kind, outcome in _OUTCOMES if isinstance(error, kind)), AuditOutcome.ERROR)


def require_pathway_reader(staff: StaffMember) -> None:
    if staff.is_admin:
        raise ForbiddenError(ADMIN_NO_PATHWAYS)
    if not staff.reads_pathways:
        raise ForbiddenError(f"a {staff.role.value} reads the audit log and no client pathways")


def authorize_pathway(
    staff: StaffMember, row: PathwayRow | None, pathway_id: str, *, coordinator_only: bool = False
) -> PathwayRow:
    """The pathway's row, if the staff member may read or act on it: their own team's, and a coordinator's
    for what only coordinators do."""
    require_pathway_reader(staff)
    if row is None:
        raise NotFoundError(f"no pathway {pathway_id}")
    if row.team not in staff.teams:
        raise ForbiddenError(f"pathway {pathway_id} is not on your team(s); you act only on your own teams' pathways")
    if coordinator_only and not staff.is_coordinator:
        raise ForbiddenError("only a coordinator of the pathway's team can do this")
    return row


@dataclass
class PathwayGrant:
    """What an authorized route works with: the signed-in member, the session and the pathway's row (the audit
    line of the access is written when the route ends, with its outcome; a staff action's before the action, and
    corrected if it fails). The staff API writes no record: the pathway's worker files every decision
    (docs/architecture.md)."""

    staff: StaffMember
    session: Session
    pathway: PathwayRow
    purpose: str | None
    # Set by a route that answers a refusal itself instead of raising it (the web app's form shown again with
    # the reason): the access's audit line takes the refusal's outcome, not "ok".
    refused: ApiError | None = None

    @property
    def pathway_id(self) -> str:
        return self.pathway.pathway_id

    async def run_then_release(self, check: Callable[[Session], object]) -> None:
        """Run `check` on the session, then end its transaction and hand the connection back, in one hop to a
        thread: an action's last reads before a long wait outside the database (a workflow update)."""
        await asyncio.to_thread(_run_then_release, self.session, self.pathway, check)


def _release_connection(session: Session, keep: PathwayRow) -> None:
    session.close()
    session.add(keep)  # back in the session as it was loaded, without a query: the next query takes a connection


def _run_then_release(session: Session, keep: PathwayRow, check: Callable[[Session], object]) -> None:
    try:
        check(session)
    finally:
        _release_connection(session, keep)


def _read_row(session: Session, pathway_id: str) -> PathwayRow | None:
    return session.get(PathwayRow, pathway_id)


@dataclass(frozen=True)
class _ActionGrant:
    """What one hop to a thread decided for a staff action: the row (None if refused), the refusal, and the audit
    line already written with the outcome so far."""

    row: PathwayRow | None
    refusal: ApiError | None
    line_id: int
    outcome: AuditOutcome


def _authorize_action(
    session: Session,
    staff: StaffMember,
    pathway_id: str,
    action: str,
    *,
    coordinator_only: bool,
    purpose: str | None,
) -> _ActionGrant:
    """A staff action's access in one hop to a thread: read the row, authorize, write the audit line and end the
    transaction, so no connection is held while the workflow decides.

    The line is written before the action runs, with the outcome so far; the route corrects it if the action then
    fails. Written after the update instead, the line's commit met the worker's filing of the same action on
    SQLite's one writer, whose busy handler sleeps milliseconds however soon the lock is free (bench/PROFILE.md,
    fifteenth and eighteenth rounds), and it cost a second hop to a thread."""
    row = session.get(PathwayRow, pathway_id)
    refusal: ApiError | None = None
    try:
        authorize_pathway(staff, row, pathway_id, coordinator_only=coordinator_only)
    except ApiError as err:
        refusal = err
    outcome = outcome_of(refusal)
    line_id = audit.insert_line(
        session, staff_id=staff.staff_id, pathway_id=pathway_id, action=action, outcome=outcome, purpose=purpose
    )
    if row is not None:
        session.expunge(row)  # keeps what was loaded: a commit would expire it, and the route reads it later
    session.commit()
    if row is not None:
        _release_connection(session, row)
    return _ActionGrant(row=None if refusal else row, refusal=refusal, line_id=line_id, outcome=outcome)


def _sign_in_with(grant: Callable[..., Any], signed_in: Callable[..., Any]) -> None:
    # The dependency's own annotations are strings (this module's `from __future__ import annotations`), which
    # FastAPI resolves in the module's namespace, where the factory's `signed_in` is not: give it the object.
    grant.__annotations__["staff"] = Annotated[StaffMember, Depends(signed_in)]


# What a service account can be given: the audit names of the API's routes that read or start pathways, and
# every staff action. Administration, the inbox and the registers are for people only (`CurrentPerson`).
SERVICE_ACCOUNT_ACTIONS = frozenset(
    {
        "start",
        "list_pathways",
        "list_client_pathways",
        "read_record",
        "read_timeline",
        "read_follow_ups",
        "export_fhir",
        "read_caseload",
        "read_team_reviews",
        # A coordinator's actions (hand-overs, team-review decisions, the outcome report) are for people.
        *(action.name for action in ACTIONS if not action.coordinator_only),
    }
)


def purpose_in_context(staff: StaffMember, pathway: PathwayRow) -> str | None:
    """The purpose the web app's context gives: one's own case is client work, a coordinator of the team
    supervises; anyone else is asked."""
    # One's own case: as its case manager, or before triage names one, as who registered the referral.
    if pathway.case_manager == staff.staff_id or (
        pathway.case_manager is None and pathway.registered_by == staff.staff_id
    ):
        return ReadPurpose.CLIENT_WORK.value
    if staff.is_coordinator and pathway.team in staff.teams:
        return ReadPurpose.SUPERVISION.value
    return None


def require_allowed(staff: StaffMember, action: str) -> None:
    """A service account may use only the actions it was given; a person, whatever their role allows."""
    name = action.split(":", 1)[0]
    if staff.is_service and name not in staff.allowed_actions:
        raise ForbiddenError(
            f"service account {staff.staff_id} may not {name}: it may use only "
            f"{', '.join(sorted(staff.allowed_actions))}"
        )


def purpose_of(staff: StaffMember, purpose: str | None) -> str | None:
    """The purpose an access is audited with: the one given, or for a service account always its declared one
    (it cannot read for another purpose than the one it was made for; the audit line names it as its staff id)."""
    if staff.is_service:
        return staff.declared_purpose
    return purpose or None


def pathway_access(
    action: str,
    *,
    coordinator_only: bool = False,
    signed_in: Callable[..., Any] = get_current_staff,
    read: bool = False,
    infer_purpose: bool = False,
    waits_on_workflow: bool = False,
) -> Any:
    """A dependency: the authorized pathway of the path's `pathway_id`, audited as `action`. `signed_in` says
    how the caller signs in: a bearer token for the JSON API, the browser's session for the web app. A `read`
    needs its purpose; `infer_purpose` (the web app) takes it from the context where the context gives one.
    A route that `waits_on_workflow` (a staff action: seconds under load) holds no connection meanwhile: one hop to
    a thread reads the row, writes the audit line and ends the transaction; a failure afterwards corrects the
    line's outcome (`_authorize_action`)."""

    async def grant(
        pathway_id: PathwayIdPath,
        staff: Annotated[StaffMember, Depends(signed_in)],
        session: SessionDep,
        purpose: Purpose = None,
    ) -> AsyncIterator[PathwayGrant]:
        error: BaseException | None = None
        granted: PathwayGrant | None = None
        written: _ActionGrant | None = None  # a staff action's line, written before the action
        purpose = purpose_of(staff, purpose)
        try:
            require_allowed(staff, action)
            if waits_on_workflow:
                written = await asyncio.to_thread(
                    _authorize_action,
                    session,
                    staff,
                    pathway_id,
                    action,
                    coordinator_only=coordinator_only,
                    purpose=purpose,
                )
                if written.refusal is not None:
                    raise written.refusal
                assert written.row is not None
                authorized = written.row
            else:
                row = await asyncio.to_thread(_read_row, session, pathway_id)
                authorized = authorize_pathway(staff, row, pathway_id, coordinator_only=coordinator_only)
            if read:
                if purpose is None and infer_purpose:
                    purpose = purpose_in_context(staff, authorized)
                purpose = read_purpose(purpose)
            granted = PathwayGrant(staff=staff, session=session, pathway=authorized, purpose=purpose)
            yield granted
        except BaseException as err:
            error = err
            raise
        finally:
            if error is None and granted is not None:
                error = granted.refused
            if written is None:
                await asyncio.to_thread(_audit, session, staff, pathway_id, action, error, purpose)
            elif outcome_of(error) is not written.outcome:
                await asyncio.to_thread(_correct_outcome, session, written.line_id, error)

    _sign_in_with(grant, signed_in)
    return Depends(grant, scope="function")


def _audit(
    session: Session,
    staff: StaffMember,
    pathway_id: str | None,
    action: str,
    error: BaseException | None,
    purpose: str | None,
    listed: Sequence[str] = (),
) -> None:
    """The audit line of one access, with its outcome."""
    if error is not None:
        # Whatever the failed request left in the session is not part of its audit line.
        session.rollback()
    audit.record(
        session,
        staff_id=staff.staff_id,
        pathway_id=pathway_id,
        action=action,
        outcome=outcome_of(error),
        purpose=purpose,
        listed=listed,
    )


@dataclass
class AuditLine:
    """The audit line of an action outside the pathway routes (an intake, an administrator's action).

    The action may write its line itself, in its own transaction (`insert`, its commit, then `written`): an intake's
    line goes with its reservation, one commit instead of two. If the action fails after that, the line's
    outcome is corrected; otherwise the line is written when the block ends."""

    staff_id: str
    action: str
    pathway_id: str | None = None
    entry_id: int | None = None

    def insert(self, session: Session, pathway_id: str | None) -> int:
        """The line, inserted in the action's own transaction (it commits, then calls `written`)."""
        self.pathway_id = pathway_id
        return audit.insert_line(
            session, staff_id=self.staff_id, pathway_id=pathway_id, action=self.action, outcome=AuditOutcome.OK
        )

    def written(self, entry_id: int) -> None:
        self.entry_id = entry_id


@asynccontextmanager
async def audited(
    session: Session, staff: StaffMember, action: str, pathway_id: str | None = None
) -> AsyncIterator[AuditLine]:
    """The audit line of what the block does (an intake, whose pathway id is set once known; an
    administrator's action on staff), with the outcome its error stands for."""
    line = AuditLine(staff_id=staff.staff_id, action=action, pathway_id=pathway_id)
    error: BaseException | None = None
    try:
        require_allowed(staff, action)
        yield line
    except BaseException as err:
        error = err
        raise
    finally:
        if line.entry_id is None:
            await asyncio.to_thread(_audit, session, staff, line.pathway_id, action, error, None)
        elif error is not None:
            await asyncio.to_thread(_correct_outcome, session, line.entry_id, error)


def _correct_outcome(session: Session, entry_id: int, error: BaseException | None) -> None:
    session.rollback()
    entry = session.get(AuditLogEntry, entry_id)
    if entry is not None:
        entry.outcome = outcome_of(error).value
        session.commit()


@dataclass
class TeamGrant:
    """An authorized listing over some teams; every pathway it shows gets a `listed` audit line."""

    staff: StaffMember
    session: Session
    teams: list[str]
    team: str | None = None  # the one team asked for, if any
    purpose: str | None = None
    listed: list[str] = field(default_factory=list)

    def show(self, pathway_ids: Sequence[str]) -> None:
        self.listed.extend(pathway_ids)


def visible_teams(staff: StaffMember, team: str | None, *, coordinator_only: bool = False) -> list[str]:
    require_pathway_reader(staff)
    if coordinator_only and not staff.is_coordinator:
        raise ForbiddenError("only a coordinator of the team can see this")
    if team is None:
        if not staff.teams:
            raise ForbiddenError("you belong to no team, so no pathways are visible to you")
        return sorted(staff.teams)
    if team not in staff.teams:
        raise ForbiddenError(f"you see only your own teams' pathways, not team {team}'s")
    return [team]


TeamQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$", description="One of your teams.")]


def team_access(
    action: str,
    *,
    coordinator_only: bool = False,
    signed_in: Callable[..., Any] = get_current_staff,
    purpose_in_context: ReadPurpose | None = None,
) -> Any:
    """A dependency: the caller's teams (or the one asked for), audited as `action` with a line per pathway shown."""

    async def grant(
        staff: Annotated[StaffMember, Depends(signed_in)],
        session: SessionDep,
        team: TeamQuery = None,
        purpose: Purpose = None,
    ) -> AsyncIterator[TeamGrant]:
        error: BaseException | None = None
        granted: TeamGrant | None = None
        purpose = purpose_of(staff, purpose) or purpose_in_context
        try:
            require_allowed(staff, action)
            teams = visible_teams(staff, team, coordinator_only=coordinator_only)
            purpose = read_purpose(purpose)
            granted = TeamGrant(staff=staff, session=session, teams=teams, team=team, purpose=purpose)
            yield granted
        except BaseException as err:
            error = err
            raise
        finally:
            listed = granted.listed if granted is not None and error is None else ()
            await asyncio.to_thread(_audit, session, staff, None, action, error, purpose, listed)

    _sign_in_with(grant, signed_in)
    return Depends(grant, scope="function")
