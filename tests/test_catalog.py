"""The catalog: ports, fal's parameters and defaults, prices, and who may use what."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from services.workflows.catalog import CATALOG
from support import CREATE, User, flux_node, wan_node, wire

FLUX, FLUX_LORA = "fal-ai/flux/dev", "fal-ai/flux-lora"
WAN, WAN_LORA = "fal-ai/wan/v2.2-a14b/image-to-video", "fal-ai/wan/v2.2-a14b/image-to-video/lora"
MODELS = "{ models { id name allowed whyNotAllowed supportsLora priceDescription paramsSchema inputs { name type required } outputs { name type } } }"


@pytest.mark.parametrize(
    ("model", "params", "cents"),
    [
        (FLUX, {}, 3),  # landscape_4_3 is 0.79 MP, billed as 1 MP: $0.025
        (FLUX, {"image_size": "square_hd"}, 5),  # 1.05 MP -> 2 MP
        (FLUX, {"image_size": "square", "num_images": 4}, 10),
        (FLUX, {"image_size": {"width": 2048, "height": 2048}}, 13),  # 4.19 MP -> 5 MP
        (WAN, {}, 41),  # 81 frames at 16 fps = 5.06 s at $0.08
        (WAN, {"resolution": "480p", "num_frames": 17}, 5),  # 1.06 s at $0.04
        (WAN, {"resolution": "580p"}, 31),
    ],
)
def test_prices_follow_fal(model: str, params: dict[str, Any], cents: int) -> None:
    assert CATALOG[model].estimate_cents(params) == cents


def test_defaults_match_fal_and_schemas_are_valid() -> None:
    flux = CATALOG[FLUX].with_defaults({})
    assert (
        flux["image_size"],
        flux["num_inference_steps"],
        flux["guidance_scale"],
        flux["num_images"],
    ) == ("landscape_4_3", 28, 3.5, 1)
    assert flux["enable_safety_checker"] is True and flux["output_format"] == "jpeg"
    wan = CATALOG[WAN].with_defaults({})
    assert (wan["num_frames"], wan["frames_per_second"], wan["resolution"]) == (81, 16, "720p")
    for spec in CATALOG.values():
        Draft202012Validator.check_schema(spec.params_schema)


async def test_models_say_what_a_free_user_may_use_and_why_not(alice: User, pro: User) -> None:
    free = {m["id"]: m for m in (await alice.data(MODELS))["models"]}
    assert set(free) == {FLUX, FLUX_LORA, WAN, WAN_LORA, "lattice/text", "lattice/image"}
    assert free[FLUX]["allowed"] and free[FLUX]["whyNotAllowed"] is None
    assert not free[WAN]["allowed"] and "Pro" in free[WAN]["whyNotAllowed"]
    assert not free[FLUX_LORA]["allowed"]
    assert all(m["allowed"] for m in (await pro.data(MODELS))["models"])
    wan = free[WAN]
    assert {(p["name"], p["type"], p["required"]) for p in wan["inputs"]} == {
        ("image_url", "IMAGE", True),
        ("prompt", "TEXT", True),
    }
    assert wan["outputs"] == [{"name": "video", "type": "VIDEO"}]
    assert free[FLUX_LORA]["supportsLora"] and not free[FLUX]["supportsLora"]
    assert free[WAN]["paramsSchema"]["properties"]["resolution"]["enum"] == ["480p", "580p", "720p"]


async def test_the_estimate_prices_the_whole_graph_before_running(pro: User) -> None:
    query = "query($input: WorkflowInput!) { estimateWorkflow(input: $input) { totalCents nodes { nodeId cents } } }"
    data = await pro.data(
        query, input={"name": "x", "nodes": [flux_node(), wan_node()], "edges": [wire()]}
    )
    assert data["estimateWorkflow"] == {
        "totalCents": 44,
        "nodes": [{"nodeId": "a", "cents": 3}, {"nodeId": "b", "cents": 41}],
    }


async def test_a_pro_user_saves_flux_into_wan(pro: User) -> None:
    created = await pro.data(
        CREATE, input={"name": "x", "nodes": [flux_node(), wan_node()], "edges": [wire()]}
    )
    assert created["createWorkflow"]["edges"] == [{"source": "a", "target": "b"}]
