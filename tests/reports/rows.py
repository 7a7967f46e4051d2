"""Timeline rows from events decided by the real rules, as the store writes them (coded facts only): what the
report tests feed the reports."""

from __future__ import annotations

from models.events import PathwayEvent, coded_facts
from models.tables import PathwayEventRow


def rows_of(pathway_id: str, team: str, events: list[PathwayEvent]) -> list[PathwayEventRow]:
    return [
        PathwayEventRow(
            pathway_id=pathway_id,
            sequence=event.sequence,
            team=team,
            at=event.at,
            actor=event.actor,
            kind=event.kind.value,
            summary="",
            stage=event.stage.value,
            details=coded_facts(event),
        )
        for event in events
    ]
