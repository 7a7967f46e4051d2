"""The report separates the client's own feedback from staff-entered feedback, and shows the share of clients
who know whom to contact by team and quarter (issue 37): generated pathways through the real rules, every
figure compared with one counted here from the generator's own truth."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta

from models import actions as a
from models.pathway import TriageRoute
from models.tables import PathwayEventRow
from reports.outcomes import outcome_report, report_csv
from tests.reports.rows import rows_of
from tests.support.rules import COORDINATOR, NURSE, Clock, do, started


def test_client_and_staff_feedback_are_apart_and_knowing_whom_to_contact_is_counted_by_team_and_quarter() -> None:
    chooser = random.Random(37)
    rows: list[PathwayEventRow] = []
    client_ratings: list[int] = []
    staff_ratings: list[int] = []
    answers: list[tuple[str, str, bool]] = []
    for index in range(80):
        clock = Clock()
        clock.now += timedelta(days=2 * index)
        team = chooser.choice(["eura-team", "rauma-team"])
        state, decision = started(clock)
        events = list(decision.events)
        state, decision = do(state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock)
        events += decision.events
        for _ in range(chooser.randint(0, 2)):
            rating = chooser.randint(1, 5)
            knows = chooser.choice([True, False, None])
            by_client = chooser.random() < 0.5
            actor = f"client:{index:016x}" if by_client else NURSE
            clock.now += timedelta(days=1)
            state, decision = do(state, actor, a.RecordFeedback(rating=rating, knows_whom_to_contact=knows), clock)
            events += decision.events
            (client_ratings if by_client else staff_ratings).append(rating)
            if knows is not None:
                answers.append((team, f"{clock.now.year}-Q{(clock.now.month - 1) // 3 + 1}", knows))
        rows += rows_of(f"pathway-{index}", team, events)

    feedback = outcome_report(rows).feedback
    assert (feedback.from_clients, feedback.from_staff) == (len(client_ratings), len(staff_ratings))
    assert feedback.client_mean_rating == round(statistics.mean(client_ratings), 2)
    assert feedback.staff_mean_rating == round(statistics.mean(staff_ratings), 2)
    assert feedback.knows_whom_to_contact.count == sum(knows for *_, knows in answers)
    for groups, position in ((feedback.knows_by_team, 0), (feedback.knows_by_quarter, 1)):
        assert [group.group for group in groups] == sorted({answer[position] for answer in answers})
        for group in groups:
            mine = [answer for answer in answers if answer[position] == group.group]
            assert group.answers == len(mine) and group.knows.count == sum(answer[2] for answer in mine)
    assert len(feedback.knows_by_quarter) >= 2
    assert f"feedback,from_clients,,{len(client_ratings)}" in report_csv(outcome_report(rows))
