-- Supabase's REST API (PostgREST) acts as `authenticated` with the caller's own JWT. Through
-- it a user could hard-delete workflows (cascading into running runs and their charges) and
-- assets (orphaning stored files), write graphs the API would reject, add LoRAs on Free
-- (with any URL), and issue or un-revoke API keys. `authenticated` now only reads its own
-- rows; every write goes through the API, which validates it first.
--
-- The API's own statements run as `lattice_api_user`: a member of `authenticated` (so it
-- has the same reads and the same row-level policies, as the same user), plus the writes
-- the API makes. PostgREST cannot switch to it: its `authenticator` login is not a member.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'lattice_api_user') then
    create role lattice_api_user nologin;
  end if;
end
$$;
grant authenticated to lattice_api_user;
-- The login that migrates is the login the API uses: it must be able to `set role`.
do $$
begin
  execute format('grant lattice_api_user to %I', current_user);
end
$$;
grant usage on schema public to lattice_api_user;

-- Workflows: created, edited and soft-deleted through the API; never hard-deleted by a user
-- (a delete cascaded into runs and their ledger entries).
revoke insert, update, delete on public.workflows from authenticated;
grant insert on public.workflows to lattice_api_user;
grant update (name, graph, version, deleted_at) on public.workflows to lattice_api_user;

-- LoRAs: added (Pro and Admin only, URL checked) and deleted through the API.
revoke insert, delete on public.loras from authenticated;
grant insert, delete on public.loras to lattice_api_user;

-- Assets: deleted through the API, which also removes the stored file.
revoke delete on public.assets from authenticated;
grant delete on public.assets to lattice_api_user;

-- API keys: issued and revoked by the API only (the secret is hashed there).
revoke insert, update, delete on public.api_keys from authenticated;

-- Plan rules hold in the database too, whoever writes: a LoRA belongs to a Pro or Admin
-- account and points at a host LoRAs are fetched from, over https.
create policy "loras need pro and a known host" on public.loras as restrictive
  for insert to authenticated
  with check (
    exists (
      select 1 from public.profiles p
      where p.id = (select auth.uid()) and p.role in ('PRO', 'ADMIN')
    )
    and url ~ '^https://(huggingface\.co|hf\.co|civitai\.com)/[^\\@]*$'
  );

-- Row-level security binds table owners too: nothing but a role with BYPASSRLS (the
-- service) sees past the policies.
do $$
declare
  t record;
begin
  for t in
    select c.relname from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
  loop
    execute format('alter table public.%I enable row level security', t.relname);
    execute format('alter table public.%I force row level security', t.relname);
  end loop;
end
$$;
