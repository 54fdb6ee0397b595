"""The model catalog as the viewer sees it."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from graph.types.common import PortType
from services.accounts import viewer as accounts
from services.workflows.catalog import ModelSpec


@strawberry.type
class Port:
    name: str
    type: PortType
    required: bool


@strawberry.type
class Model:
    id: strawberry.ID
    name: str
    description: str
    inputs: list[Port]
    outputs: list[Port]
    params_schema: JSON
    supports_lora: bool
    price_description: str
    allowed: bool
    why_not_allowed: str | None
    utility: bool = strawberry.field(
        description="A Text or Image node: free, no model call, done as the run starts."
    )

    @classmethod
    def of(cls, spec: ModelSpec, role: accounts.Role, *, disabled: bool = False) -> Model:
        allowed = spec.allowed(role) and not disabled
        return cls(
            id=strawberry.ID(spec.id),
            name=spec.name,
            description=spec.description,
            inputs=[Port(name=p.name, type=p.type, required=p.required) for p in spec.inputs],
            outputs=[Port(name=p.name, type=p.type, required=p.required) for p in spec.outputs],
            params_schema=JSON(dict(spec.params_schema)),
            supports_lora=spec.supports_lora,
            price_description=spec.price_description,
            allowed=allowed,
            why_not_allowed=None
            if allowed
            else f"{spec.name} is turned off for now"
            if disabled
            else f"{spec.name} needs a Pro plan",
            utility=spec.instant,
        )
