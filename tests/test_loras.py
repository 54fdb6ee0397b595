"""Pro users bring their own LoRAs; URLs are checked before anything could fetch them."""

from __future__ import annotations

import uuid

import pytest

from conftest import LiveServer
from support import CREATE, RUN, User, error_codes, flux_node, wait_for_run

ADD = "mutation($input: LoraInput!) { addLora(input: $input) { id name url baseModel } }"


def lora(
    url: str = "https://huggingface.co/me/style.safetensors", base: str = "flux-dev"
) -> dict[str, str]:
    return {"name": "My style", "url": url, "baseModel": base}


async def test_add_list_and_delete(pro: User) -> None:
    added = (await pro.data(ADD, input=lora()))["addLora"]
    assert added["baseModel"] == "flux-dev"
    assert [x["id"] for x in (await pro.data("{ loras { id } }"))["loras"]] == [added["id"]]
    assert (await pro.data("mutation($id: ID!) { deleteLora(id: $id) }", id=added["id"]))[
        "deleteLora"
    ] is True
    assert (await pro.data("{ loras { id } }"))["loras"] == []


async def test_free_users_are_told_loras_need_pro(alice: User) -> None:
    result = await alice.gql(ADD, input=lora())
    assert error_codes(result) == ["UPGRADE_REQUIRED"]
    assert (await alice.data("{ loras { id } }"))["loras"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://huggingface.co/me/x.safetensors",
        "https://127.0.0.1/x.safetensors",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/x",
        "https://user:pw@huggingface.co/x",
        "https://huggingface.co:8443/x",
        "https://evil.example.com/x.safetensors",
        "https://huggingface.co.evil.com/x",
        "file:///etc/passwd",
        "not a url",
        # Parsers disagree about these: urlsplit sees a LoRA host, urllib3 sees 127.0.0.1.
        "https://127.0.0.1\\.huggingface.co/x.safetensors",
        "https://huggingface.co\\@127.0.0.1/x",
        "https://huggingface.co%2f@evil.com/x",
        "https://[::1]/x",
        "https://2130706433/x",
        "https://0x7f.0.0.1/x",
        "https://huggingface.co:443@evil.com/x",
        # Hosts that are not where LoRAs are fetched from.
        "https://fal.media/x.safetensors",
        "https://s3.amazonaws.com/bucket/x.safetensors",
    ],
)
async def test_unsafe_urls_are_rejected_and_nothing_is_saved(pro: User, url: str) -> None:
    result = await pro.gql(ADD, input=lora(url=url))
    assert error_codes(result) == ["VALIDATION_ERROR"]
    assert result["errors"][0]["extensions"]["problems"][0]["field"] == "url"
    assert (await pro.data("{ loras { id } }"))["loras"] == []


async def test_unknown_base_model_is_rejected(pro: User) -> None:
    assert error_codes(await pro.gql(ADD, input=lora(base="sdxl"))) == ["VALIDATION_ERROR"]


async def test_another_user_cannot_see_or_delete_a_lora(pro: User, client: object) -> None:
    from support import sign_in

    other = await sign_in(client, role="PRO")  # type: ignore[arg-type]
    added = (await pro.data(ADD, input=lora()))["addLora"]
    assert (await other.data("{ loras { id } }"))["loras"] == []
    assert error_codes(
        await other.gql("mutation($id: ID!) { deleteLora(id: $id) }", id=added["id"])
    ) == ["NOT_FOUND"]
    assert len((await pro.data("{ loras { id } }"))["loras"]) == 1


async def test_a_lora_written_around_the_api_is_checked_again_when_a_run_uses_it(
    live: LiveServer, pro: User, worker: object, fal_server: object
) -> None:
    """A LoRA row with a URL no API check would pass (written before today's rules, or by
    the service by mistake): the node using it fails with a clear error; fal is not asked."""
    async with live.runtime.db.as_service() as conn:
        lora_id = await conn.fetchval(
            "insert into public.loras (user_id, name, url, base_model)"
            " values ($1, 'old', 'https://169.254.169.254/latest/meta-data', 'flux-dev') returning id",
            uuid.UUID(pro.id),
        )
    node = {
        **flux_node(loras=[{"lora_id": str(lora_id), "scale": 1}]),
        "modelId": "fal-ai/flux-lora",
    }
    created = (await pro.data(CREATE, input={"name": "l", "nodes": [node], "edges": []}))[
        "createWorkflow"
    ]
    run = (await pro.data(RUN, id=created["id"], key=uuid.uuid4().hex))["runWorkflow"]
    finished = await wait_for_run(pro, run["id"])
    assert finished["status"] == "FAILED"
    error = finished["nodeRuns"][0]["error"]
    assert "no longer fetch" in error and "169.254" not in (finished["nodeRuns"][0]["logs"] or "")
