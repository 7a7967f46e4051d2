"""The FHIR export and the programme outcome report, through the real API, worker and database."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from fhir.resources.R4B.bundle import Bundle

from tests.support.fixtures import Org
from tests.support.helpers import eventually, ok, service_body
from tests.support.helpers import start_via_api as start


async def _pathway_in_services(api: httpx.AsyncClient, org: Org) -> str:
    state = await start(
        api, org.coordinator.auth, org.team, referral_source="self_referral", referring_organisation=None
    )
    pathway = f"/pathways/{state['pathway_id']}"
    triage = {"route": "health_check", "case_manager": org.nurse.staff_id}
    ok(await api.post(f"{pathway}/triage", json=triage, headers=org.coordinator.auth))
    ok(await api.post(f"{pathway}/goals", json={"text": "Back to retail work"}, headers=org.nurse.auth))
    assessment = {"summary": "Fair", "recommendation": "Work try-out"}
    ok(await api.post(f"{pathway}/assessment", json=assessment, headers=org.nurse.auth))
    ok(await api.post(f"{pathway}/plan", json={"services": [service_body()]}, headers=org.nurse.auth))
    return pathway


async def test_fhir_export_answers_a_bundle_to_the_team_and_is_audited(api: httpx.AsyncClient, org: Org) -> None:
    pathway = await _pathway_in_services(api, org)
    response = await api.get(f"{pathway}/fhir", headers=org.nurse.auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json; fhirVersion=4.3"
    bundle: Any = Bundle.model_validate_json(response.content)
    by_type: dict[str, list[Any]] = {}
    for entry in bundle.entry:
        by_type.setdefault(entry.resource.get_resource_type(), []).append(entry.resource)
    episode = by_type["EpisodeOfCare"][0]
    assert episode.status == "active"
    assert [goal.description.text for goal in by_type["Goal"]] == ["Back to retail work"]
    assert by_type["CarePlan"][0].status == "active"
    # The referral reason (free text) does not travel in the export.
    assert b"Long unemployment" not in response.content

    assert (await api.get(f"{pathway}/fhir", headers=org.outsider.auth)).status_code == 403
    assert (await api.get("/pathways/pathway-client-nosuchone/fhir", headers=org.nurse.auth)).status_code == 404
    assert (await api.get(f"{pathway}/fhir", headers=org.admin.auth)).status_code == 403

    pathway_id = pathway.removeprefix("/pathways/")
    audit = ok(await api.get(f"/pathways/{pathway_id}/audit", headers=org.coordinator.auth))
    entries = audit if isinstance(audit, list) else audit["items"]
    assert any("fhir" in entry["action"] and entry["staff_id"] == org.nurse.staff_id for entry in entries)


async def test_outcome_report_counts_the_teams_pathways_from_the_record(api: httpx.AsyncClient, org: Org) -> None:
    await _pathway_in_services(api, org)
    no_need = await start(api, org.coordinator.auth, org.team)
    triage = {"route": "no_need", "redirect_note": "Student health care"}
    ok(await api.post(f"/pathways/{no_need['pathway_id']}/triage", json=triage, headers=org.coordinator.auth))

    async def both_recorded() -> Any:
        report = ok(await api.get("/reports/outcomes", params={"team": org.team}, headers=org.coordinator.auth))
        return (
            report if sum(report["referrals_by_source"].values()) == 2 and sum(report["routes"].values()) == 2 else None
        )

    report = await eventually(both_recorded, what="the worker recorded both pathways in the read model")
    assert report["referrals_by_source"] == {"self_referral": 1, "professional_referral": 1}
    assert report["routes"] == {"health_check": 1, "no_need": 1}

    response = await api.get(
        "/reports/outcomes", params={"team": org.team, "format": "csv"}, headers=org.coordinator.auth
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(response.text)))
    response = await api.get(
        "/reports/outcomes", params={"team": org.team, "format": "png"}, headers=org.coordinator.auth
    )
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")

    # For Finnish Excel: a byte-order mark, semicolons and decimal commas; the programme figures included.
    response = await api.get(
        "/reports/outcomes", params={"team": org.team, "format": "csv", "lang": "fi"}, headers=org.coordinator.auth
    )
    assert response.content.startswith("\ufeff".encode())
    assert 'filename="outcome-report.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["section", "measure", "category", "value"] and all(len(row) == 4 for row in rows)
    shares = [row[3] for row in rows if row[1] == "reached_share" and row[3]]
    assert shares and all("," in share or share in ("0", "1") for share in shares), shares
    assert ["backlog", "open_by_stage", "in_services", "1"] in rows
    # A printable PDF: the overview, the trends and every figure as tables.
    response = await api.get(
        "/reports/outcomes", params={"team": org.team, "format": "pdf"}, headers=org.coordinator.auth
    )
    assert response.headers["content-type"] == "application/pdf" and response.content.startswith(b"%PDF-")
    assert response.content.count(b"/Type /Page\n") + response.content.count(b"/Type /Page ") >= 3

    assert (await api.get("/reports/outcomes", headers=org.nurse.auth)).status_code == 403
    other = await api.get("/reports/outcomes", params={"team": org.team}, headers=org.other_coordinator.auth)
    assert other.status_code == 403
