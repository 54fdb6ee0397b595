"""LoRAs the viewer has added."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.workflows.loras import LoraRecord


@strawberry.type
class Lora:
    id: strawberry.ID
    name: str
    url: str = strawberry.field(
        description="The https link it was added from; for an uploaded file, a signed link"
        " to download it that expires within an hour."
    )
    uploaded: bool = strawberry.field(
        description="Uploaded as a .safetensors file to Lattice's storage."
    )
    base_model: str
    created_at: datetime

    @classmethod
    def of(cls, record: LoraRecord) -> Lora:
        return cls(
            id=strawberry.ID(str(record.id)),
            name=record.name,
            url=record.url or "",
            uploaded=record.storage_path is not None,
            base_model=record.base_model,
            created_at=record.created_at,
        )
