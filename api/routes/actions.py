"""One route per staff action, registered from the declarations in `workflows.actions`.

`POST /pathways/{pathway_id}/<action path>`: the body is the action's fields model (less the ids its
path carries), the role and the audit name are the declaration's, and the answer is the workflow update's
`ActionAnswer`. Nothing here is written per action, so a route can never drift from its action.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from api.access import PathwayGrant, pathway_access
from api.deps import IdempotencyKey, TemporalClientDep
from api.errors import InvalidInputError
from api.routes.responses import PATHWAY_ACTION
from api.services import actions as action_service
from models.pathway import ITEM_ID_PATTERN
from models.process import ActionAnswer
from workflows.actions import ACTIONS, StaffAction

router = APIRouter()


def request_body(action: StaffAction[Any]) -> type[BaseModel]:
    """The action's fields as the request body: the fields model itself, less the ids taken from the path."""
    if not action.path_fields:
        return action.fields
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in action.fields.model_fields.items()
        if name not in action.path_fields
    }
    return create_model(f"{action.fields.__name__}Body", __config__=ConfigDict(extra="forbid"), **fields)


def build_fields(action: StaffAction[Any], values: dict[str, Any]) -> BaseModel:
    """The workflow's fields model from the body and the path (the model's own checks run here)."""
    try:
        fields: BaseModel = action.fields.model_validate(values)
        return fields
    except ValidationError as err:
        reasons = "; ".join(error["msg"].removeprefix("Value error, ") for error in err.errors())
        raise InvalidInputError(reasons, field="body") from err


def _endpoint(action: StaffAction[Any]) -> Any:
    body_model = request_body(action)

    async def endpoint(**arguments: Any) -> ActionAnswer:
        body: BaseModel = arguments.pop("body")
        grant: PathwayGrant = arguments.pop("grant")
        client = arguments.pop("client")
        idempotency_key: str | None = arguments.pop("idempotency_key")
        # The remaining arguments are the path's item ids.
        fields = build_fields(action, {**body.model_dump(exclude_unset=True), **arguments})
        return await action_service.act(
            client=client, grant=grant, action=action, fields=fields, idempotency_key=idempotency_key
        )

    parameters = [
        inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body_model),
        inspect.Parameter(
            "grant",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=PathwayGrant,
            default=pathway_access(action.name, coordinator_only=action.coordinator_only, waits_on_workflow=True),
        ),
        inspect.Parameter("client", inspect.Parameter.KEYWORD_ONLY, annotation=TemporalClientDep),
        inspect.Parameter("idempotency_key", inspect.Parameter.KEYWORD_ONLY, annotation=IdempotencyKey, default=None),
        *(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, Path(pattern=ITEM_ID_PATTERN, description=f"The {name.replace('_', ' ')}.")],
            )
            for name in action.path_fields
        ),
    ]
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=ActionAnswer)  # type: ignore[attr-defined]
    endpoint.__name__ = action.name
    endpoint.__doc__ = f"{action.summary}.{' Coordinators of the team only.' if action.coordinator_only else ''}"
    return endpoint


for _action in ACTIONS:
    router.add_api_route(
        f"/{{pathway_id}}/{_action.path}",
        _endpoint(_action),
        methods=["POST"],
        response_model=ActionAnswer,
        responses=PATHWAY_ACTION,
        summary=_action.summary,
        name=_action.name,
        operation_id=_action.name,
    )
