"""The outcome report as one PNG page (six panels, large labels, numbers on the bars), and as a printable
PDF: that page, then the programme's trends and teams as charts, then every figure as a table.

Uses a `Figure` with the Agg canvas directly rather than pyplot, so concurrent requests in the API share
no global figure state and no display is needed.
"""

from __future__ import annotations

import io

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from reports.outcomes import CSV_HEADER, OutcomeReport, report_rows

WIDTH_INCHES, HEIGHT_INCHES, DPI = 14.0, 9.0, 100
_BLUE, _GREEN, _ORANGE, _GREY = "#2b6cb0", "#2f855a", "#c05621", "#718096"


def _label(code: str) -> str:
    return code.replace("_", " ").replace(":", ", ")


def _bars(axes: Axes, labels: list[str], values: list[float], color: str, fmt: str = "{:g}") -> None:
    positions = list(range(len(labels)))
    bars = axes.barh(positions, values, color=color)
    axes.set_yticks(positions, [_label(label) for label in labels])
    axes.invert_yaxis()
    axes.bar_label(bars, labels=[fmt.format(value) for value in values], padding=3)
    axes.margins(x=0.25)
    axes.spines[["top", "right"]].set_visible(False)


def _title(axes: Axes, title: str, subtitle: str) -> None:
    # The subtitle goes below the panel as its axis label, where the layout engine makes room for it.
    axes.set_title(title, loc="left", fontweight="bold", fontsize=13)
    axes.set_xlabel(subtitle, color=_GREY)


def _empty(axes: Axes, title: str) -> None:
    _title(axes, title, "")
    axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes, color=_GREY)
    axes.set_axis_off()


def render_png(report: OutcomeReport) -> bytes:
    buffer = io.BytesIO()
    _overview(report).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _overview(report: OutcomeReport) -> Figure:
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    period = " to ".join(
        moment.date().isoformat() if moment else "…" for moment in (report.period_from, report.period_to)
    )
    scope = f"team {report.team}" if report.team else "all teams"
    figure.suptitle(
        f"Work-ability pathways referred {period}: {scope}, {report.pathways} pathways",
        fontsize=15,
        fontweight="bold",
    )
    grid = figure.subplots(2, 3)

    referrals = grid[0][0]
    sources = dict(report.referrals_by_source)
    sources.update({f"  from {name}": count for name, count in report.referrals_by_organisation.items()})
    if report.pathways:
        _bars(referrals, list(sources), [float(v) for v in sources.values()], _BLUE)
        _title(referrals, "Referrals", "by source; professional ones by referrer")
    else:
        _empty(referrals, "Referrals")

    waiting = grid[0][1]
    summaries = {"to triage": report.time_to_triage, "to assessment start": report.time_to_assessment_start}
    if any(summary.count for summary in summaries.values()):
        labels, values = [], []
        for name, summary in summaries.items():
            labels += [f"{name}, median", f"{name}, p90"]
            values += [summary.median_days or 0.0, summary.p90_days or 0.0]
        _bars(waiting, labels, values, _ORANGE, "{:.1f} d")
        counts = f"{report.time_to_triage.count} triaged, {report.time_to_assessment_start.count} assessed"
        _title(waiting, "Days from referral", counts)
    else:
        _empty(waiting, "Days from referral")

    routes = grid[0][2]
    if report.routes:
        _bars(routes, list(report.routes), [float(v) for v in report.routes.values()], _BLUE)
        _title(routes, "Triage routes", "pathways per route chosen")
    else:
        _empty(routes, "Triage routes")

    escalations = grid[1][0]
    causes = report.escalations_by_cause
    changes = report.case_manager_changes
    mean = f"{changes.mean_per_pathway:.2f}" if changes.mean_per_pathway is not None else "-"
    if causes:
        _bars(escalations, list(causes), [float(v) for v in causes.values()], _ORANGE)
        _title(escalations, "Escalations to team review", f"by cause; case-manager changes per pathway: {mean}")
    else:
        _empty(escalations, "Escalations to team review")

    outcomes = grid[1][1]
    closed = report.outcomes.closed_pathways
    if closed:
        figures = report.outcomes
        labels = [*figures.reached, "any solution"]
        reached = [100 * figures.reached[s].count / closed for s in figures.reached]
        reached.append(100 * figures.reached_any.count / closed)
        held = [100 * figures.held_by_solution[s].count / closed for s in figures.reached]
        held.append(100 * figures.held.count / closed)
        positions = list(range(len(labels)))
        reached_bars = outcomes.barh([p - 0.2 for p in positions], reached, height=0.4, color=_BLUE, label="reached")
        held_bars = outcomes.barh([p + 0.2 for p in positions], held, height=0.4, color=_GREEN, label="held")
        for bars in (reached_bars, held_bars):
            outcomes.bar_label(bars, labels=[f"{bar.get_width():.0f} %" for bar in bars], padding=3, fontsize=9)
        outcomes.set_yticks(positions, [_label(label) for label in labels])
        outcomes.invert_yaxis()
        outcomes.set_xlim(0, min(100.0, max(reached) * 1.9 + 5))
        outcomes.legend(loc="center right", frameon=False)
        outcomes.spines[["top", "right"]].set_visible(False)
        held_share = figures.held.share
        held_text = f"{100 * held_share:.0f} % of solutions held" if held_share is not None else "no solutions"
        _title(outcomes, "Long-term solutions", f"% of {closed} closed pathways; {held_text}")
    else:
        _empty(outcomes, "Long-term solutions")

    feedback = grid[1][2]
    if report.feedback.count:
        ratings = list(report.feedback.distribution)
        _bars(
            feedback,
            [f"rating {r}" for r in ratings],
            [float(report.feedback.distribution[r]) for r in ratings],
            _GREEN,
        )
        _title(feedback, "Client feedback", f"{report.feedback.count} ratings, mean {report.feedback.mean_rating:.2f}")
    else:
        _empty(feedback, "Client feedback")

    return figure


# A4 landscape, in inches.
A4_LANDSCAPE = (11.69, 8.27)
ROWS_PER_PAGE = 38


def _trends(report: OutcomeReport) -> Figure:
    programme = report.programme
    figure = Figure(figsize=A4_LANDSCAPE, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle("Do pathways move? Trends by month of referral, teams side by side", fontsize=14, fontweight="bold")
    grid = figure.subplots(2, 2)
    months = [trend.period for trend in programme.by_month]
    trend_axes = grid[0][0]
    if months:
        for values, label, color in (
            ([t.referrals for t in programme.by_month], "referrals", _BLUE),
            ([t.reached_a_service for t in programme.by_month], "reached a service", _ORANGE),
            ([t.closed_with_solution for t in programme.by_month], "closed with a solution", _GREEN),
        ):
            trend_axes.plot(months, values, marker="o", label=label, color=color)
        trend_axes.set_ylim(bottom=0)
        trend_axes.legend(frameon=False, loc="lower left", fontsize=9)
        trend_axes.spines[["top", "right"]].set_visible(False)
        _title(trend_axes, "Pathways by month of referral", "month of referral")
    else:
        _empty(trend_axes, "Pathways by month of referral")
    teams = programme.teams
    team_axes = grid[0][1]
    if teams:
        _bars(team_axes, [t.team for t in teams], [t.median_days_to_service or 0.0 for t in teams], _ORANGE, "{:.1f} d")
        _title(team_axes, "Median days from referral to a service", "per team")
    else:
        _empty(team_axes, "Median days from referral to a service")
    backlog = grid[1][0]
    if programme.backlog_by_stage:
        stages = programme.backlog_by_stage
        _bars(backlog, list(stages), [float(v) for v in stages.values()], _BLUE)
        _title(backlog, "Open pathways by stage now", f"{sum(stages.values())} open")
    else:
        _empty(backlog, "Open pathways by stage now")
    caseload = grid[1][1]
    if programme.caseload_by_case_manager:
        load = programme.caseload_by_case_manager
        _bars(caseload, list(load), [float(v) for v in load.values()], _GREEN)
        _title(caseload, "Open pathways per case manager", "caseload now")
    else:
        _empty(caseload, "Open pathways per case manager")
    return figure


def _table_pages(report: OutcomeReport) -> list[Figure]:
    rows = report_rows(report)
    pages = []
    for start in range(0, len(rows), ROWS_PER_PAGE):
        figure = Figure(figsize=A4_LANDSCAPE)
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0.03, 0.03, 0.94, 0.9))
        axes.set_axis_off()
        figure.suptitle(f"Every figure ({start + 1} to {min(start + ROWS_PER_PAGE, len(rows))} of {len(rows)})")
        table = axes.table(
            cellText=[list(row) for row in rows[start : start + ROWS_PER_PAGE]],
            colLabels=list(CSV_HEADER),
            loc="upper left",
            cellLoc="left",
            colWidths=[0.2, 0.35, 0.3, 0.15],
        )
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        pages.append(figure)
    return pages


def render_pdf(report: OutcomeReport) -> bytes:
    """A printable PDF: the overview, the trends and teams, then every figure as a table."""
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": "Work-ability pathways: outcome report", "Creator": "pathways"}) as pdf:
        for figure in (_overview(report), _trends(report), *_table_pages(report)):
            pdf.savefig(figure)
    return buffer.getvalue()
