"""All routers, with their prefixes and tags, assembled in one place."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    actions,
    audit,
    auth,
    feedback_links,
    fhir,
    health,
    me,
    notifications,
    partner_callbacks,
    partners,
    pathways,
    reports,
    staff,
    summary,
    team_reviews,
    teams,
)

api_router = APIRouter()
api_router.include_router(pathways.router, prefix="/pathways", tags=["pathways"])
api_router.include_router(actions.router, prefix="/pathways", tags=["staff actions"])
api_router.include_router(pathways.clients_router, prefix="/clients", tags=["pathways"])
api_router.include_router(me.router, prefix="/me", tags=["me"])
api_router.include_router(team_reviews.router, prefix="/team-reviews", tags=["team reviews"])
api_router.include_router(staff.router, prefix="/staff", tags=["staff"])
api_router.include_router(teams.router, prefix="/teams", tags=["teams"])
api_router.include_router(partners.router, prefix="/teams", tags=["partners and hand-overs"])
api_router.include_router(partner_callbacks.router, tags=["partner organisations"])
api_router.include_router(audit.router, tags=["audit"])
api_router.include_router(notifications.router, prefix="/notifications", tags=["notifications"])
api_router.include_router(fhir.router)
api_router.include_router(summary.router)
api_router.include_router(feedback_links.router)
api_router.include_router(reports.router)
api_router.include_router(health.router, tags=["health"])
api_router.include_router(auth.router, prefix="/auth", tags=["sign-in"])
