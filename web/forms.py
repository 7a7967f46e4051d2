"""HTML forms for the staff actions and the intake, from the same fields models the API takes.

A form is described from the action's model (`models.actions`): each field's widget follows its type, its
label comes from `web.labels`. What a browser posts is turned back into the model, so the model's own
validation speaks: a field it refuses gets the model's message next to it. Times are entered in Helsinki
time and become UTC; the follow-up interval is entered in days.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from core.i18n import HELSINKI, datetime_local_value, gettext
from web.labels import choices, field_label

# Fields the page fills itself (the pathway's own ids from the URL, or the item a form belongs to).
HIDDEN = {"investigation_id", "service_id", "goal_id", "transition_id", "consent_id", "referral_id"}
# Fields shown as a list of the team's partner organisations.
PARTNER_FIELDS = {"partner_id"}
# Nested parts the pages do not offer (a network meeting's plan revision goes through the plan form).
NOT_ON_PAGES = {"plan"}
PARTICIPANT_ROWS = 4  # rows a network meeting form offers
# Fields shown as a list of staff members of the pathway's team.
STAFF_FIELDS = {"case_manager", "new_case_manager"}
LONG_TEXT = {
    "reason",
    "note",
    "text",
    "description",
    "result_summary",
    "summary",
    "recommendation",
    "comment",
    "redirect_note",
    "message",
    "decisions",
    "agenda",
}
SERVICE_ROWS = 3  # empty rows a plan form offers for new services
# The Work Ability Score is asked as one labelled radio group, 0-10 or "did not want to answer" (never a
# slider): `score` carries the choice, and `declined` is folded into it.
SCALE_FIELDS = {"score"}
FOLDED_INTO_SCALE = {"declined"}
DECLINED = "declined"
# GAS levels, chosen from a radio group -2 ... +2 (the baseline from -2 and -1 only).
LEVEL_FIELDS = {"attainment": (-2, -1, 0, 1, 2), "gas_baseline": (-2, -1)}


def gas_level_names(language: str) -> dict[int, str]:
    """The five GAS levels in words, -2 ... +2."""
    return {
        -2: gettext(language, "much less than expected"),
        -1: gettext(language, "less than expected"),
        0: gettext(language, "the expected outcome"),
        1: gettext(language, "more than expected"),
        2: gettext(language, "much more than expected"),
    }


@dataclass
class Field:
    name: str
    label: str
    widget: str  # text, textarea, select, checkbox, datetime, date, number, days, hidden, scale, levels
    required: bool
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""
    rows: list[Any] = field(default_factory=list)  # a list's rows (a network meeting's participants)


@dataclass
class FormErrors(Exception):
    """Per field, what is wrong; "" for the form as a whole."""

    messages: dict[str, str]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The type inside Optional[...], and whether None is allowed."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        return (args[0] if len(args) == 1 else annotation), True
    if get_origin(annotation) is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    return annotation, False


def _enum_list(annotation: Any) -> type[StrEnum] | None:
    inner, _ = _unwrap(annotation)
    if get_origin(inner) is list:
        (item,) = get_args(inner)
        if isinstance(item, type) and issubclass(item, StrEnum):
            return item
    return None


def _widget(name: str, annotation: Any) -> str:
    inner, _ = _unwrap(annotation)
    if name in HIDDEN:
        return "hidden"
    if name in SCALE_FIELDS:
        return "scale"
    if name in FOLDED_INTO_SCALE:
        return "folded"
    if name in LEVEL_FIELDS:
        return "levels"
    if name in STAFF_FIELDS:
        return "staff"
    if name in PARTNER_FIELDS:
        return "partner"
    if name == "participants":
        return "participants"
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return "service"  # a nested service (a transition's replacement)
    if _enum_list(annotation) is not None:
        return "choices"
    if isinstance(inner, type) and issubclass(inner, StrEnum):
        return "select"
    if inner is bool:
        return "checkbox"
    if inner is datetime:
        return "datetime"
    if inner is timedelta:
        return "days"
    if inner is int:
        return "number"
    return "textarea" if name in LONG_TEXT else "text"


def describe(model: type[BaseModel], language: str, *, skip: set[str] | None = None) -> list[Field]:
    fields = []
    for name, info in model.model_fields.items():
        if (skip and name in skip) or name in NOT_ON_PAGES:
            continue
        annotation = info.annotation
        inner, _optional = _unwrap(annotation)
        widget = _widget(name, annotation)
        options = choices(inner, language) if widget == "select" else []
        if widget == "folded":
            continue
        if widget == "scale":
            options = [(str(score), str(score)) for score in range(11)]
            options.append((DECLINED, gettext(language, "The client did not want to answer")))
        if widget == "levels":
            names = gas_level_names(language)
            options = [
                (str(level), f"{level:+d} {names[level]}" if level else f"0 {names[0]}") for level in LEVEL_FIELDS[name]
            ]
            if not info.is_required():
                # A plain goal is the usual one: the choice can be left, or taken back.
                options.insert(0, ("", gettext(language, "Not a GAS goal")))
        if widget == "choices":
            enum = _enum_list(annotation)
            assert enum is not None
            options = choices(enum, language)
        required = info.is_required() and widget not in ("checkbox", "hidden")
        fields.append(Field(name, field_label(name, language), widget, required, options))
    return fields


def _parse_local(value: str) -> datetime:
    """A `datetime-local` value, meant in Helsinki time."""
    return datetime.fromisoformat(value).replace(tzinfo=HELSINKI)


def _value(widget: str, raw: str | None) -> Any:
    if widget == "checkbox":
        return raw is not None
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if widget == "datetime":
        return _parse_local(raw)
    if widget == "date":
        return _parse_local(raw + "T00:00")
    if widget == "days":
        return timedelta(days=float(raw))
    if widget in ("number", "levels"):
        return int(raw)
    return raw


def values_from(model: type[BaseModel], form: dict[str, str], *, prefix: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        widget = _widget(name, info.annotation)
        key = f"{prefix}{name}"
        if name == "services":
            values[name] = _service_rows(form)
            continue
        if widget == "checkbox":
            values[name] = key in form
            continue
        if widget == "folded":
            continue
        if widget == "scale":
            raw = (form.get(key) or "").strip()
            if raw == DECLINED:
                values["declined"] = True
            elif raw:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise FormErrors({name: "not a valid value"}) from None
            continue
        if widget == "choices":
            enum = _enum_list(info.annotation)
            assert enum is not None
            values[name] = [member.value for member in enum if f"{key}.{member.value}" in form]
            continue
        if widget == "participants":
            values[name] = _participant_rows(form)
            continue
        if widget == "service":
            from models.actions import PlannedServiceInput

            if form.get(f"{key}.kind"):
                values[name] = values_from(PlannedServiceInput, form, prefix=f"{key}.")
            continue
        try:
            parsed = _value(widget, form.get(key))
        except ValueError:
            raise FormErrors({name: "not a valid value"}) from None
        if parsed is not None:
            values[name] = parsed
    return values


def _service_rows(form: dict[str, str]) -> list[dict[str, Any]]:
    from models.actions import PlannedServiceInput

    rows = []
    indexes = sorted({int(key.split(".")[1]) for key in form if key.startswith("services.") and key.count(".") == 2})
    for index in indexes:
        prefix = f"services.{index}."
        if not form.get(prefix + "kind"):
            continue  # an empty row
        rows.append(values_from(PlannedServiceInput, form, prefix=prefix))
    return rows


def _participant_rows(form: dict[str, str]) -> list[dict[str, Any]]:
    from models.actions import MeetingParticipant

    rows = []
    indexes = sorted(
        {int(key.split(".")[1]) for key in form if key.startswith("participants.") and key.count(".") == 2}
    )
    for index in indexes:
        prefix = f"participants.{index}."
        if not form.get(prefix + "role"):
            continue  # an empty row
        rows.append(values_from(MeetingParticipant, form, prefix=prefix))
    return rows


@dataclass
class ParticipantRow:
    prefix: str
    fields: list[Field]
    number: int


def participant_rows(
    language: str, staff: list[tuple[str, str]], partners: list[tuple[str, str]]
) -> list[ParticipantRow]:
    """The empty participant rows of a network meeting form: a role, and who (a team member or a partner)."""
    from models.actions import MeetingParticipant

    rows = []
    for index in range(PARTICIPANT_ROWS):
        specs = describe(MeetingParticipant, language)
        for spec in specs:
            spec.required = False
            if spec.name == "staff_id":
                spec.widget, spec.choices = "select", staff
            elif spec.name == "partner_id":
                spec.widget, spec.choices = "select", partners
        rows.append(ParticipantRow(f"participants.{index}.", specs, index + 1))
    return rows


def parse(model: type[BaseModel], form: dict[str, str], language: str, *, fixed: dict[str, Any] | None = None) -> Any:
    """The model from the posted form (plus `fixed` values the page owns), or FormErrors with the model's
    own messages."""
    values = {**values_from(model, form), **(fixed or {})}
    try:
        return model.model_validate(values)
    except ValidationError as err:
        messages: dict[str, str] = {}
        for error in err.errors():
            location = [str(part) for part in error["loc"]]
            message = str(error["msg"]).removeprefix("Value error, ")
            # A check of the whole model names the field it is about: shown beside that field.
            name = location[0] if location else next((field for field in model.model_fields if field in message), "")
            if error["type"] == "missing":
                message = gettext(language, "This is needed.")
            messages.setdefault(name, message)
        raise FormErrors(messages) from None


@dataclass
class PlanRow:
    prefix: str
    fields: list[Field]
    values: dict[str, Any]
    existing: Any | None = None
    number: int = 0


def plan_rows(record: Any, posted: dict[str, str], language: str) -> list[PlanRow]:
    """The plan form's rows: each current service (kept, with its dates), then empty rows for new ones.
    Only a row with a service kind chosen becomes a service; empty rows are not required."""
    from models.actions import PlannedServiceInput

    current = [service for service in record.services if service.status.value in ("planned", "active")]
    rows = []
    for index in range(len(current) + SERVICE_ROWS):
        prefix = f"services.{index}."
        existing = current[index] if index < len(current) else None
        specs = describe(PlannedServiceInput, language)
        for spec in specs:
            spec.required = spec.required and existing is not None
        if any(key.startswith(prefix) for key in posted):
            values: dict[str, Any] = {key: value for key, value in posted.items() if key.startswith(prefix)}
        elif existing is not None:
            values = {
                f"{prefix}service_id": existing.service_id,
                f"{prefix}kind": existing.kind.value,
                f"{prefix}provider": existing.provider,
                f"{prefix}planned_start": datetime_local_value(existing.planned_start),
                f"{prefix}planned_end": datetime_local_value(existing.planned_end),
                f"{prefix}remote": "on" if existing.remote else "",
            }
        else:
            values = {}
        rows.append(PlanRow(prefix, specs, values, existing, index - len(current) + 1))
    return rows
