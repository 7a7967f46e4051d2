"""The outcome report as one PNG page (six panels, large labels, numbers on the bars), and as a printable
PDF: that page, then the programme's trends and teams as charts, then every figure as a table.

Uses a `Figure` with the Agg canvas directly rather than pyplot, so concurrent requests in the API share
no global figure state and no display is needed.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from babel.numbers import format_decimal
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from core.i18n import LOCALES, format_date, gettext
from reports.outcomes import CSV_HEADER, OutcomeReport, report_rows

WIDTH_INCHES, HEIGHT_INCHES, DPI = 14.0, 9.0, 100
# Words a code for the reader (the web app passes its labels); None: the code itself, made readable.
Labeler = Callable[[str], str] | None
_BLUE, _GREEN, _ORANGE, _GREY = "#2b6cb0", "#2f855a", "#c05621", "#718096"


def _label(code: str) -> str:
    return code.replace("_", " ").replace(":", ", ")


def _bars(
    axes: Axes, labels: list[str], values: list[float], color: str, fmt: str = "{:g}", code: Labeler = None
) -> None:
    positions = list(range(len(labels)))
    bars = axes.barh(positions, values, color=color)
    axes.set_yticks(positions, [(code or _label)(label) for label in labels])
    axes.invert_yaxis()
    axes.bar_label(bars, labels=[fmt.format(value) for value in values], padding=3)
    axes.margins(x=0.25)
    axes.spines[["top", "right"]].set_visible(False)


def _route_label(code: Labeler) -> Labeler:
    """A route with its level (`extended_assessment:specialist`) in words: the route, then the level."""
    words = code or _label

    def route(value: str) -> str:
        return ", ".join(words(part) for part in value.split(":"))

    return route


def _title(axes: Axes, title: str, subtitle: str) -> None:
    # The subtitle goes below the panel as its axis label, where the layout engine makes room for it.
    axes.set_title(title, loc="left", fontweight="bold", fontsize=13)
    axes.set_xlabel(subtitle, color=_GREY)


def _empty(axes: Axes, title: str, lang: str = "en") -> None:
    _title(axes, title, "")
    axes.text(0.5, 0.5, gettext(lang, "no data"), ha="center", va="center", transform=axes.transAxes, color=_GREY)
    axes.set_axis_off()


def render_png(report: OutcomeReport, language: str = "en", code: Labeler = None) -> bytes:
    """The overview page in the reader's language (`code` words the codes; by default as they are)."""
    buffer = io.BytesIO()
    _overview(report, language, code).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _overview(report: OutcomeReport, lang: str = "en", code: Labeler = None) -> Figure:
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    period = " - ".join(
        format_date(moment, lang) if moment else "…" for moment in (report.period_from, report.period_to)
    )
    scope = gettext(lang, "team {team}").format(team=report.team) if report.team else gettext(lang, "all teams")
    figure.suptitle(
        gettext(lang, "Work-ability pathways referred {period}: {scope}, {count} pathways").format(
            period=period, scope=scope, count=report.pathways
        ),
        fontsize=15,
        fontweight="bold",
    )
    grid = figure.subplots(2, 3)

    referrals = grid[0][0]
    sources = dict(report.referrals_by_source)
    words = code or _label
    labelled = {words(name): count for name, count in sources.items()}
    labelled.update(
        {
            gettext(lang, "  from {who}").format(who=words(name)): count
            for name, count in report.referrals_by_organisation.items()
        }
    )
    if report.pathways:
        _bars(referrals, list(labelled), [float(v) for v in labelled.values()], _BLUE, code=str)
        _title(referrals, gettext(lang, "Referrals"), gettext(lang, "by source; professional ones by referrer"))
    else:
        _empty(referrals, gettext(lang, "Referrals"), lang)

    waiting = grid[0][1]
    summaries = {
        gettext(lang, "to triage"): report.time_to_triage,
        gettext(lang, "to assessment start"): report.time_to_assessment_start,
    }
    if any(summary.count for summary in summaries.values()):
        labels, values = [], []
        for name, summary in summaries.items():
            labels += [
                gettext(lang, "{what}, median").format(what=name),
                gettext(lang, "{what}, p90").format(what=name),
            ]
            values += [summary.median_days or 0.0, summary.p90_days or 0.0]
        _bars(waiting, labels, values, _ORANGE, gettext(lang, "{:.1f} d"), code=str)
        counts = gettext(lang, "{triaged} triaged, {assessed} assessed").format(
            triaged=report.time_to_triage.count, assessed=report.time_to_assessment_start.count
        )
        _title(waiting, gettext(lang, "Days from referral"), counts)
    else:
        _empty(waiting, gettext(lang, "Days from referral"), lang)

    routes = grid[0][2]
    if report.routes:
        _bars(routes, list(report.routes), [float(v) for v in report.routes.values()], _BLUE, code=_route_label(code))
        _title(routes, gettext(lang, "Triage routes"), gettext(lang, "pathways per route chosen"))
    else:
        _empty(routes, gettext(lang, "Triage routes"), lang)

    escalations = grid[1][0]
    causes = report.escalations_by_cause
    changes = report.case_manager_changes
    mean = f"{changes.mean_per_pathway:.2f}" if changes.mean_per_pathway is not None else "-"
    if causes:
        _bars(escalations, list(causes), [float(v) for v in causes.values()], _ORANGE, code=code)
        _title(
            escalations,
            gettext(lang, "Escalations to team review"),
            gettext(lang, "by cause; case-manager changes per pathway: {mean}").format(mean=mean),
        )
    else:
        _empty(escalations, gettext(lang, "Escalations to team review"), lang)

    outcomes = grid[1][1]
    closed = report.outcomes.closed_pathways
    if closed:
        figures = report.outcomes
        labels = [*(words(solution) for solution in figures.reached), gettext(lang, "any solution")]
        reached = [100 * figures.reached[s].count / closed for s in figures.reached]
        reached.append(100 * figures.reached_any.count / closed)
        held = [100 * figures.held_by_solution[s].count / closed for s in figures.reached]
        held.append(100 * figures.held.count / closed)
        positions = list(range(len(labels)))
        reached_bars = outcomes.barh(
            [p - 0.2 for p in positions], reached, height=0.4, color=_BLUE, label=gettext(lang, "reached")
        )
        held_bars = outcomes.barh(
            [p + 0.2 for p in positions], held, height=0.4, color=_GREEN, label=gettext(lang, "held")
        )
        for bars in (reached_bars, held_bars):
            outcomes.bar_label(bars, labels=[f"{bar.get_width():.0f} %" for bar in bars], padding=3, fontsize=9)
        outcomes.set_yticks(positions, labels)
        outcomes.invert_yaxis()
        outcomes.set_xlim(0, min(100.0, max(reached) * 1.9 + 5))
        outcomes.legend(loc="center right", frameon=False)
        outcomes.spines[["top", "right"]].set_visible(False)
        held_share = figures.held.share
        held_text = (
            gettext(lang, "{percent} of solutions held").format(percent=f"{100 * held_share:.0f} %")
            if held_share is not None
            else gettext(lang, "no solutions")
        )
        _title(
            outcomes,
            gettext(lang, "Long-term solutions"),
            gettext(lang, "share of {closed} closed pathways; {held}").format(closed=closed, held=held_text),
        )
    else:
        _empty(outcomes, gettext(lang, "Long-term solutions"), lang)

    feedback = grid[1][2]
    if report.feedback.count:
        ratings = list(report.feedback.distribution)
        _bars(
            feedback,
            [gettext(lang, "rating {rating}").format(rating=r) for r in ratings],
            [float(report.feedback.distribution[r]) for r in ratings],
            _GREEN,
            code=str,
        )
        rated = gettext(lang, "{count} ratings, mean {mean:.2f}").format(
            count=report.feedback.count, mean=report.feedback.mean_rating or 0.0
        )
        _title(feedback, gettext(lang, "Client feedback"), rated)
    else:
        _empty(feedback, gettext(lang, "Client feedback"), lang)

    return figure


# A4 landscape, in inches.
A4_LANDSCAPE = (11.69, 8.27)
ROWS_PER_PAGE = 38


def _trends(report: OutcomeReport, lang: str = "en", code: Labeler = None) -> Figure:
    programme = report.programme
    figure = Figure(figsize=A4_LANDSCAPE, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(
        gettext(lang, "Do pathways move? Trends by month of referral, teams side by side"),
        fontsize=14,
        fontweight="bold",
    )
    grid = figure.subplots(2, 2)
    months = [trend.period for trend in programme.by_month]
    trend_axes = grid[0][0]
    if months:
        for values, label, color in (
            ([t.referrals for t in programme.by_month], gettext(lang, "referrals"), _BLUE),
            ([t.reached_a_service for t in programme.by_month], gettext(lang, "reached a service"), _ORANGE),
            ([t.closed_with_solution for t in programme.by_month], gettext(lang, "closed with a solution"), _GREEN),
        ):
            trend_axes.plot(months, values, marker="o", label=label, color=color)
        trend_axes.set_ylim(bottom=0)
        trend_axes.legend(frameon=False, loc="lower left", fontsize=9)
        trend_axes.spines[["top", "right"]].set_visible(False)
        _title(trend_axes, gettext(lang, "Pathways by month of referral"), gettext(lang, "month of referral"))
    else:
        _empty(trend_axes, gettext(lang, "Pathways by month of referral"), lang)
    teams = programme.teams
    team_axes = grid[0][1]
    if teams:
        _bars(
            team_axes,
            [t.team for t in teams],
            [t.median_days_to_service or 0.0 for t in teams],
            _ORANGE,
            gettext(lang, "{:.1f} d"),
            code=str,
        )
        _title(team_axes, gettext(lang, "Median days from referral to a service"), gettext(lang, "per team"))
    else:
        _empty(team_axes, gettext(lang, "Median days from referral to a service"), lang)
    backlog = grid[1][0]
    if programme.backlog_by_stage:
        stages = programme.backlog_by_stage
        _bars(backlog, list(stages), [float(v) for v in stages.values()], _BLUE, code=code)
        subtitle = gettext(lang, "{count} open").format(count=sum(stages.values()))
        _title(backlog, gettext(lang, "Open pathways by stage now"), subtitle)
    else:
        _empty(backlog, gettext(lang, "Open pathways by stage now"), lang)
    caseload = grid[1][1]
    if programme.caseload_by_case_manager:
        load = programme.caseload_by_case_manager
        _bars(caseload, list(load), [float(v) for v in load.values()], _GREEN, code=str)
        _title(caseload, gettext(lang, "Open pathways per case manager"), gettext(lang, "caseload now"))
    else:
        _empty(caseload, gettext(lang, "Open pathways per case manager"), lang)
    return figure


def _work_ability(report: OutcomeReport, lang: str = "en", code: Labeler = None) -> Figure:
    """The Work Ability Score at the start and the end by band, its change, and the GAS goals."""
    figures = report.work_ability
    figure = Figure(figsize=A4_LANDSCAPE, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(
        gettext(lang, "Work ability: the client's own score and goal attainment"), fontsize=14, fontweight="bold"
    )
    bands_axes, change_axes, gas_axes = figure.subplots(1, 3)
    bands = ("poor", "moderate", "good")
    if figures.start.count or figures.end.count:
        positions = list(range(len(bands)))
        # The end's bars are hatched as well as coloured: the two read apart in grey print too.
        for offset, part, name, color, hatch in (
            (-0.2, figures.start, gettext(lang, "at the start"), _BLUE, None),
            (0.2, figures.end, gettext(lang, "at the end"), _GREEN, "//"),
        ):
            bars = bands_axes.barh(
                [p + offset for p in positions],
                [part.bands.get(b, 0) for b in bands],
                height=0.4,
                color=color,
                hatch=hatch,
                edgecolor="white",
                label=name,
            )
            bands_axes.bar_label(bars, padding=3)
        bands_axes.set_yticks(positions, [(code or _label)(band) for band in bands])
        bands_axes.invert_yaxis()
        bands_axes.legend(frameon=False)
        bands_axes.spines[["top", "right"]].set_visible(False)
        _title(
            bands_axes,
            gettext(lang, "Work Ability Score by band"),
            gettext(lang, "pathways; {missing} without a score").format(missing=figures.without_measure),
        )
    else:
        _empty(bands_axes, gettext(lang, "Work Ability Score by band"), lang)
    change = figures.change
    if change.pathways:
        moves = ("improved", "unchanged", "worsened")
        _bars(
            change_axes,
            [gettext(lang, "Improved"), gettext(lang, "Unchanged"), gettext(lang, "Worsened")],
            [100 * (getattr(change, move).share or 0.0) for move in moves],
            _ORANGE,
            "{:.0f} %",
            code=str,
        )
        _title(
            change_axes,
            gettext(lang, "Change from start to end"),
            gettext(lang, "of {count} pathways with both; improved: 2 points or more").format(count=change.pathways),
        )
    else:
        _empty(change_axes, gettext(lang, "Change from start to end"), lang)
    gas = figures.gas
    if gas.goals_scored:
        reached = gas.at_or_above_expected.count
        _bars(
            gas_axes,
            [gettext(lang, "at or above expected"), gettext(lang, "below expected")],
            [float(reached), float(gas.goals_scored - reached)],
            _GREEN,
            code=str,
        )
        _title(
            gas_axes,
            gettext(lang, "GAS goals scored"),
            gettext(lang, "T-score median {median} over {count} pathways").format(
                median=format_decimal(gas.t_score_median or 0.0, format="#,##0.#", locale=LOCALES[lang]),
                count=gas.t_score_pathways,
            ),
        )
    else:
        _empty(gas_axes, gettext(lang, "GAS goals scored"), lang)
    return figure


def _table_pages(report: OutcomeReport, lang: str = "en") -> list[Figure]:
    rows = report_rows(report)
    pages = []
    for start in range(0, len(rows), ROWS_PER_PAGE):
        figure = Figure(figsize=A4_LANDSCAPE)
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0.03, 0.03, 0.94, 0.9))
        axes.set_axis_off()
        shown = gettext(lang, "Every figure ({first} to {last} of {count})")
        figure.suptitle(shown.format(first=start + 1, last=min(start + ROWS_PER_PAGE, len(rows)), count=len(rows)))
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


def render_pdf(report: OutcomeReport, language: str = "en", code: Labeler = None) -> bytes:
    """A printable PDF in the reader's language: the overview, the trends and teams, every figure as a table."""
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": "Work-ability pathways: outcome report", "Creator": "pathways"}) as pdf:
        for figure in (
            _overview(report, language, code),
            _trends(report, language, code),
            _work_ability(report, language, code),
            *_table_pages(report, language),
        ):
            pdf.savefig(figure)
    return buffer.getvalue()
