"""The admin console: open only to an ADMIN from an allowed network with MFA; what it shows
and changes, each change in the append-only audit log."""

from __future__ import annotations

import io
import uuid

import asyncpg
import httpx
import pytest
from PIL import Image

from admin_support import enroll, sign_in_admin, step_up
from conftest import LiveServer
from services.platform.rate_limits import MFA_ATTEMPTS_PER_MINUTE
from support import CREATE, RUN, error_codes, flux_node, gql, problems, sign_in

ACCESS = "{ viewer { role mfaLevel suspended adminAccess { allowed reason } } }"
USERS = """
query Users($search: String, $first: Int, $after: String) {
  admin { users(search: $search, first: $first, after: $after) {
    edges { cursor node { id email role suspended periodUsageCents creditsCents planStatus createdAt } }
    pageInfo { hasNextPage endCursor }
  } }
}
"""
GRANT = """
mutation Grant($id: ID!, $amount: Int!, $reason: String!, $key: String) {
  adminAdjustCredits(userId: $id, amountCents: $amount, reason: $reason, idempotencyKey: $key) {
    id creditsCents ledger(first: 5) { edges { node { kind amountCents description } } }
  }
}
"""


async def test_mfa_steps_an_admin_up_to_aal2_and_opens_the_console(
    client: httpx.AsyncClient,
) -> None:
    admin, stepped = await sign_in_admin(client)
    before = await admin.data(ACCESS)
    assert before["viewer"]["mfaLevel"] == "aal1"
    assert before["viewer"]["adminAccess"] == {"allowed": False, "reason": "needs MFA"}
    refused = await admin.gql(USERS)
    assert error_codes(refused) == ["FORBIDDEN"]
    assert refused["errors"][0]["extensions"]["reason"] == "needs MFA"

    after = await stepped.data(ACCESS)
    assert after["viewer"]["mfaLevel"] == "aal2"
    assert after["viewer"]["adminAccess"] == {"allowed": True, "reason": None}
    page = await stepped.data(USERS, search=admin.email)
    assert [e["node"]["email"] for e in page["admin"]["users"]["edges"]] == [admin.email]


async def test_a_wrong_or_replayed_code_gives_no_aal2(client: httpx.AsyncClient) -> None:
    admin = await sign_in(client, role="ADMIN")
    factor = await enroll(client, admin.token)
    wrong = await step_up(
        client, admin.token, factor, code="000000" if factor.code() != "000000" else "111111"
    )
    assert wrong.status_code == 422
    ok = await step_up(client, admin.token, factor)
    assert ok.status_code == 200
    replay = await step_up(client, admin.token, factor, code=factor.code())
    assert replay.status_code == 422


async def test_non_admins_are_refused_and_every_refusal_is_audited(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    user = await sign_in(client, role="PRO")
    access = await user.data(ACCESS)
    assert access["viewer"]["adminAccess"] == {"allowed": False, "reason": None}
    result = await user.gql(USERS)
    assert error_codes(result) == ["FORBIDDEN"]
    async with live.runtime.db.as_service() as conn:
        row = await conn.fetchrow(
            "select host(ip) as ip, details from public.audit_log"
            " where action = 'admin.refused' and actor_id = $1",
            uuid.UUID(user.id),
        )
    assert row is not None and row["ip"] == "127.0.0.1"
    # Anonymous requests are refused without writing anything (they could fill the log).
    count = (
        "select count(*) from public.audit_log where action = 'admin.refused' and actor_id is null"
    )
    async with live.runtime.db.as_service() as conn:
        before = await conn.fetchval(count)
    anonymous = await gql(client, USERS)
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    async with live.runtime.db.as_service() as conn:
        assert await conn.fetchval(count) == before


async def test_granting_credits_is_idempotent_and_in_the_ledger_and_audit_log(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    _, admin = await sign_in_admin(client)
    alice = await sign_in(client)
    key = uuid.uuid4().hex
    first = await admin.data(GRANT, id=alice.id, amount=500, reason="support ticket 42", key=key)
    again = await admin.data(GRANT, id=alice.id, amount=500, reason="support ticket 42", key=key)
    allowance = live.settings.FREE_MONTHLY_CREDITS_CENTS
    assert first["adminAdjustCredits"]["creditsCents"] == allowance + 500
    assert again["adminAdjustCredits"]["creditsCents"] == allowance + 500
    entries = [e["node"] for e in again["adminAdjustCredits"]["ledger"]["edges"]]
    assert entries == [{"kind": "GRANT", "amountCents": 500, "description": "support ticket 42"}]
    blank = await admin.gql(GRANT, id=alice.id, amount=500, reason="  ")
    assert error_codes(blank) == ["VALIDATION_ERROR"]
    assert [p["field"] for p in problems(blank)] == ["reason"]
    # Alice sees the credits in her own balance.
    mine = await alice.data("{ viewer { credits { freeRemaining } } }")
    assert mine["viewer"]["credits"]["freeRemaining"] == allowance + 500
    audit = await admin.data(
        """query($a: ID) { admin { auditLog(actor: $a, action: "credits") { edges { node {
             action targetId ip details actorEmail } } } } }""",
        a=admin.id,
    )
    nodes = [e["node"] for e in audit["admin"]["auditLog"]["edges"]]
    assert len(nodes) == 1
    assert nodes[0]["action"] == "credits.granted" and nodes[0]["targetId"] == alice.id
    assert nodes[0]["ip"] == "127.0.0.1" and nodes[0]["details"]["reason"] == "support ticket 42"


async def test_the_audit_log_cannot_be_changed_or_deleted_by_any_role(live: LiveServer) -> None:
    async with live.runtime.db.as_service() as conn:
        await conn.execute("insert into public.audit_log (action) values ('test.entry')")
        for statement in (
            "update public.audit_log set action = 'x' where action = 'test.entry'",
            "delete from public.audit_log where action = 'test.entry'",
            "truncate public.audit_log",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                async with conn.transaction():
                    await conn.execute(statement)
        for role in ("authenticated", "service_role"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(f"set local role {role}")
                    await conn.execute("delete from public.audit_log where action = 'test.entry'")


async def test_a_suspended_user_sees_their_gallery_but_cannot_run_or_persist(
    client: httpx.AsyncClient,
) -> None:
    _, admin = await sign_in_admin(client)
    pro = await sign_in(client, role="PRO")
    created = await pro.data(CREATE, input={"name": "s", "nodes": [flux_node()], "edges": []})
    suspend = """mutation($id: ID!, $s: Boolean!) {
      adminSetSuspended(userId: $id, suspended: $s, reason: "chargeback") { suspended } }"""
    assert (await admin.data(suspend, id=pro.id, s=True))["adminSetSuspended"]["suspended"]
    assert (await pro.data("{ viewer { suspended } }"))["viewer"]["suspended"] is True
    await pro.data("{ assets { edges { node { id } } } }")
    refused = await pro.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
    assert error_codes(refused) == ["SUSPENDED"]
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    upload = await client.post(
        "/api/uploads", files={"file": ("a.png", png.getvalue(), "image/png")}, headers=pro.headers
    )
    assert upload.status_code == 403 and upload.json()["error"]["code"] == "SUSPENDED"
    await admin.data(suspend, id=pro.id, s=False)
    ok = await pro.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
    assert error_codes(ok) == []


async def test_a_model_turned_off_is_refused_at_run_start_and_shown_as_unavailable(
    client: httpx.AsyncClient,
) -> None:
    _, admin = await sign_in_admin(client)
    pro = await sign_in(client, role="PRO")
    created = await pro.data(CREATE, input={"name": "m", "nodes": [flux_node()], "edges": []})
    toggle = """mutation($m: ID!, $e: Boolean!) { adminSetModelEnabled(modelId: $m, enabled: $e) {
      id enabled } }"""
    model = flux_node()["modelId"]
    assert (await admin.data(toggle, m=model, e=False))["adminSetModelEnabled"]["enabled"] is False
    try:
        models = await pro.data("{ models { id allowed whyNotAllowed } }")
        flux = next(m for m in models["models"] if m["id"] == model)
        assert flux["allowed"] is False and "turned off" in flux["whyNotAllowed"]
        refused = await pro.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
        assert [p["reason"] for p in problems(refused)] == ["MODEL_DISABLED"]
        # Refused before anything was written: no run, nothing reserved.
        after = await pro.data(
            "{ runs { edges { node { id } } } viewer { credits { reservedCents } } }"
        )
        assert after["runs"]["edges"] == [] and after["viewer"]["credits"]["reservedCents"] == 0
    finally:
        await admin.data(toggle, m=model, e=True)


async def test_the_daily_spend_limit_set_in_the_console_stops_runs(
    client: httpx.AsyncClient,
) -> None:
    _, admin = await sign_in_admin(client)
    pro = await sign_in(client, role="PRO")
    created = await pro.data(CREATE, input={"name": "l", "nodes": [flux_node()], "edges": []})
    limit = """mutation($c: Int!) { adminSetDailySpendLimit(limitCents: $c) {
      dailySpendLimitCents todaySpendCents } }"""
    before = (await admin.data("{ admin { platform { dailySpendLimitCents } } }"))["admin"]
    today = (await admin.data(limit, c=0))["adminSetDailySpendLimit"]
    assert today["dailySpendLimitCents"] == 0
    try:
        refused = await pro.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
        assert error_codes(refused) == ["UNAVAILABLE"]
    finally:
        await admin.data(limit, c=before["platform"]["dailySpendLimitCents"])


async def test_an_admin_without_mfa_spends_as_an_ordinary_user_under_a_cap(
    client: httpx.AsyncClient,
) -> None:
    admin_aal1, admin = await sign_in_admin(client)
    created = await admin_aal1.data(
        CREATE, input={"name": "c", "nodes": [flux_node()], "edges": []}
    )
    await admin_aal1.data("mutation { setSpendingCap(cents: 0) { spendingCapCents } }")
    capped = await admin_aal1.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
    assert error_codes(capped) == ["SPENDING_CAP_REACHED"]
    # With MFA (and from loopback, the dev allow-list) the platform pays, uncapped.
    ok = await admin.gql(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
    assert error_codes(ok) == []


async def test_a_users_page_shows_their_runs_and_ledger_and_the_platform_its_usage(
    client: httpx.AsyncClient,
) -> None:
    _, admin = await sign_in_admin(client)
    alice = await sign_in(client)
    created = await alice.data(CREATE, input={"name": "p", "nodes": [flux_node()], "edges": []})
    run = await alice.data(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex)
    page = await admin.data(
        """query($id: ID!) { admin {
             user(id: $id) { email role runs(first: 5) { edges { node { id status } } }
               ledger(first: 5) { edges { node { kind amountCents payer runId } } } }
             usageByDay(days: 2) { day runs falSpendCents chargedCents }
             usageByModel(days: 2) { modelId title nodes }
           } }""",
        id=alice.id,
    )
    user = page["admin"]["user"]
    assert user["email"] == alice.email
    assert [e["node"]["id"] for e in user["runs"]["edges"]] == [run["runWorkflow"]["id"]]
    ledger = [e["node"] for e in user["ledger"]["edges"]]
    assert ledger and ledger[0]["kind"] == "RESERVE" and ledger[0]["payer"] == "ALLOWANCE"
    assert ledger[0]["runId"] == run["runWorkflow"]["id"]
    days = page["admin"]["usageByDay"]
    assert len(days) == 2 and days[-1]["runs"] >= 1
    assert any(m["modelId"] == flux_node()["modelId"] for m in page["admin"]["usageByModel"])
    # Alice, signed in herself, sees none of this.
    assert error_codes(await alice.gql("{ admin { platform { todaySpendCents } } }")) == [
        "FORBIDDEN"
    ]


async def test_users_are_paged_newest_first(client: httpx.AsyncClient) -> None:
    _, admin = await sign_in_admin(client)
    tag = uuid.uuid4().hex[:8]
    emails = [f"page-{tag}-{i}@example.com" for i in range(3)]
    for email in emails:
        await sign_in(client, email=email)
    first = await admin.data(USERS, search=f"page-{tag}", first=2)
    users = first["admin"]["users"]
    assert [e["node"]["email"] for e in users["edges"]] == emails[::-1][:2]
    assert users["pageInfo"]["hasNextPage"] is True
    rest = await admin.data(
        USERS, search=f"page-{tag}", first=2, after=users["pageInfo"]["endCursor"]
    )
    assert [e["node"]["email"] for e in rest["admin"]["users"]["edges"]] == [emails[0]]
    # LIKE wildcards in the search are literal.
    literal = await admin.data(USERS, search=f"page_{tag}")
    assert literal["admin"]["users"]["edges"] == []


async def test_guessing_codes_is_rate_limited(client: httpx.AsyncClient) -> None:
    admin = await sign_in(client, role="ADMIN")
    factor = await enroll(client, admin.token)
    wrong = "000000" if factor.code() != "000000" else "111111"
    statuses = [
        (await step_up(client, admin.token, factor, code=wrong)).status_code
        for _ in range(MFA_ATTEMPTS_PER_MINUTE + 1)
    ]
    assert statuses == [422] * MFA_ATTEMPTS_PER_MINUTE + [429]
    # Even the right code waits for the window.
    assert (await step_up(client, admin.token, factor)).status_code == 429
