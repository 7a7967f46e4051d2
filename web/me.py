"""About me: how the signed-in member is reached (work e-mail, work phone, when to call), which their clients'
plan summaries print; the same service as `PUT /me/contact`, audited alike."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import SessionDep
from api.schemas import StaffContact
from api.services import staff as staff_service
from api.services import staff_admin
from core.i18n import gettext
from web.deps import FormToken, PageDep
from web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    page: PageDep,
    session: SessionDep,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    saved: bool = False,
) -> Response:
    member, teams = staff_service.get_member(session, page.staff.staff_id)
    current = {
        "email": member.email or "",
        "work_phone": member.work_phone or "",
        "contact_hours": member.contact_hours or "",
    }
    return render(
        request,
        "me.html",
        page.language,
        422 if errors else 200,
        page=page,
        member=member,
        teams=teams,
        values=values or current,
        errors=errors or {},
        saved=saved,
        nav="me",
    )


def _message(field: str, language: str) -> str:
    """What is wrong with a contact field, in the member's language."""
    if field == "email":
        return gettext(language, "an e-mail address, such as name@example.fi")
    if field == "work_phone":
        return gettext(language, "a phone number: digits, spaces, dashes and brackets, with + before a country code")
    return gettext(language, "at most 200 characters")


@router.get("/me")
async def about_me(request: Request, page: PageDep, session: SessionDep, saved: bool = False) -> Response:
    return await asyncio.to_thread(_page, request, page, session, saved=saved)


@router.post("/me", dependencies=[FormToken])
async def update_contact(
    request: Request,
    page: PageDep,
    session: SessionDep,
    email: Annotated[str, Form(max_length=400)] = "",
    work_phone: Annotated[str, Form(max_length=100)] = "",
    contact_hours: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    posted = {"email": email, "work_phone": work_phone, "contact_hours": contact_hours}
    try:
        # The form shows every field: what is left empty is cleared.
        contact = StaffContact.model_validate({name: value.strip() or None for name, value in posted.items()})
    except ValidationError as err:
        errors = {str(error["loc"][0]): _message(str(error["loc"][0]), page.language) for error in err.errors()}
        return await asyncio.to_thread(_page, request, page, session, errors=errors, values=posted)
    await staff_admin.update_contact(
        session=session, actor=page.staff, staff_id=page.staff.staff_id, contact=contact, action="update_own_contact"
    )
    return RedirectResponse("/app/me?saved=true", status_code=303)
