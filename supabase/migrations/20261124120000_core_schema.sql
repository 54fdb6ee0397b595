-- Lattice's core schema. Every table has row-level security; users reach their own rows
-- only, through policies written the Supabase way: `(select auth.uid())` is evaluated once
-- per statement, and every policy column is indexed. Writes that move money or record
-- what a worker did (runs, node runs, assets, the ledger) are done by the service, never
-- granted to `authenticated`, because Supabase also exposes that role through its REST API.

create or replace function public.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- Profiles: one per auth user; the role lives here, never in user_metadata.
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  role text not null default 'FREE' check (role in ('FREE', 'PRO', 'ADMIN')),
  stripe_customer_id text unique,
  spending_cap_cents integer check (spending_cap_cents >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create trigger profiles_touch before update on public.profiles
  for each row execute function public.touch_updated_at();

-- Workflows: the whole graph as JSON, versioned for optimistic concurrency. Deletion is
-- soft so that past runs (and what they cost) keep the graph they ran.
create table public.workflows (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 200),
  graph jsonb not null default '{"nodes": [], "edges": []}'::jsonb,
  version integer not null default 1 check (version >= 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
create index workflows_user_page_idx on public.workflows (user_id, updated_at desc, id desc)
  where deleted_at is null;
create trigger workflows_touch before update on public.workflows
  for each row execute function public.touch_updated_at();

create table public.loras (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 120),
  url text not null check (url ~ '^https://'),
  base_model text not null,
  created_at timestamptz not null default now()
);
create index loras_user_idx on public.loras (user_id, created_at desc);

create table public.runs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  workflow_id uuid not null references public.workflows (id) on delete cascade,
  workflow_version integer not null,
  graph jsonb not null,
  target_node_ids text[],
  idempotency_key text not null check (char_length(idempotency_key) between 1 and 200),
  status text not null default 'QUEUED'
    check (status in ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
  estimated_cost_cents integer not null default 0 check (estimated_cost_cents >= 0),
  cost_cents integer not null default 0 check (cost_cents >= 0),
  created_at timestamptz not null default now(),
  finished_at timestamptz,
  unique (user_id, idempotency_key)
);
create index runs_workflow_page_idx on public.runs (workflow_id, created_at desc, id desc);
create index runs_user_page_idx on public.runs (user_id, created_at desc, id desc);

create table public.node_runs (
  id uuid primary key default gen_random_uuid(),
  run_id uuid not null references public.runs (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  node_id text not null,
  model_id text not null,
  status text not null default 'PENDING'
    check (status in ('PENDING', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED',
                      'SKIPPED', 'CACHED')),
  params jsonb not null default '{}'::jsonb,
  inputs jsonb,
  cache_key text,
  cached_from uuid references public.node_runs (id) on delete set null,
  fal_request_id text,
  queue_position integer,
  progress real check (progress between 0 and 1),
  logs text[] not null default '{}',
  error text,
  estimated_cost_cents integer not null default 0 check (estimated_cost_cents >= 0),
  cost_cents integer not null default 0 check (cost_cents >= 0),
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  unique (run_id, node_id)
);
create index node_runs_user_idx on public.node_runs (user_id);
create index node_runs_cache_idx on public.node_runs (user_id, cache_key)
  where status = 'SUCCEEDED';

create table public.assets (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  kind text not null check (kind in ('IMAGE', 'VIDEO')),
  storage text not null check (storage in ('TEMPORARY', 'PERSISTENT')),
  source_url text,
  storage_path text,
  expires_at timestamptz,
  width integer,
  height integer,
  duration_seconds real,
  content_type text not null,
  file_size bigint,
  model_id text not null,
  params jsonb not null default '{}'::jsonb,
  run_id uuid references public.runs (id) on delete set null,
  node_run_id uuid references public.node_runs (id) on delete set null,
  output_index integer not null default 0,
  created_at timestamptz not null default now(),
  check (source_url is not null or storage_path is not null),
  check (storage = 'TEMPORARY' or storage_path is not null),
  -- One set of outputs per node run, however often a worker records them.
  unique (node_run_id, output_index)
);
create index assets_user_page_idx on public.assets (user_id, created_at desc, id desc);
create index assets_user_kind_page_idx on public.assets (user_id, kind, created_at desc, id desc);
create index assets_expiry_idx on public.assets (expires_at) where storage = 'TEMPORARY';
create index assets_node_run_idx on public.assets (node_run_id);

-- Credits: an append-only ledger; balances are sums. Each entry has an idempotency key so
-- a retried billable step can never count twice.
create table public.credit_ledger (
  id bigint generated always as identity primary key,
  user_id uuid not null references public.profiles (id) on delete cascade,
  run_id uuid references public.runs (id) on delete set null,
  node_run_id uuid references public.node_runs (id) on delete set null,
  entry text not null check (entry in ('RESERVE', 'RELEASE', 'CHARGE', 'GRANT', 'ADJUST')),
  amount_cents integer not null,
  period date not null,
  idempotency_key text not null unique,
  reported_at timestamptz,
  created_at timestamptz not null default now()
);
create index credit_ledger_user_period_idx on public.credit_ledger (user_id, period);
create index credit_ledger_unreported_idx on public.credit_ledger (created_at)
  where entry = 'CHARGE' and reported_at is null;

-- Webhooks repeat: the event id is recorded in the same transaction as its effect.
create table public.webhook_events (
  source text not null,
  event_id text not null,
  event_type text not null,
  received_at timestamptz not null default now(),
  primary key (source, event_id)
);

create table public.api_keys (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 120),
  prefix text not null unique,
  secret_hash text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_keys_user_idx on public.api_keys (user_id, created_at desc);

create table public.audit_log (
  id bigint generated always as identity primary key,
  actor_id uuid references public.profiles (id) on delete set null,
  action text not null,
  target text,
  ip inet,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index audit_log_actor_idx on public.audit_log (actor_id, created_at desc);
create index audit_log_created_idx on public.audit_log (created_at desc);

-- Row-level security on every table.
alter table public.profiles enable row level security;
alter table public.workflows enable row level security;
alter table public.loras enable row level security;
alter table public.runs enable row level security;
alter table public.node_runs enable row level security;
alter table public.assets enable row level security;
alter table public.credit_ledger enable row level security;
alter table public.webhook_events enable row level security;
alter table public.api_keys enable row level security;
alter table public.audit_log enable row level security;

create policy "read own profile" on public.profiles for select to authenticated
  using ((select auth.uid()) = id);
create policy "update own profile" on public.profiles for update to authenticated
  using ((select auth.uid()) = id) with check ((select auth.uid()) = id);

create policy "read own workflows" on public.workflows for select to authenticated
  using ((select auth.uid()) = user_id);
create policy "create own workflows" on public.workflows for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy "update own workflows" on public.workflows for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy "delete own workflows" on public.workflows for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy "read own loras" on public.loras for select to authenticated
  using ((select auth.uid()) = user_id);
create policy "create own loras" on public.loras for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy "delete own loras" on public.loras for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy "read own runs" on public.runs for select to authenticated
  using ((select auth.uid()) = user_id);
create policy "read own node runs" on public.node_runs for select to authenticated
  using ((select auth.uid()) = user_id);

create policy "read own assets" on public.assets for select to authenticated
  using ((select auth.uid()) = user_id);
create policy "delete own assets" on public.assets for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy "read own ledger" on public.credit_ledger for select to authenticated
  using ((select auth.uid()) = user_id);

create policy "read own api keys" on public.api_keys for select to authenticated
  using ((select auth.uid()) = user_id);
create policy "create own api keys" on public.api_keys for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy "revoke own api keys" on public.api_keys for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);

-- webhook_events and audit_log have no policies: only the service reads or writes them.

-- Hosted projects grant new tables to every API role by default; grant only what the
-- policies above are meant to allow.
revoke all on all tables in schema public from anon, authenticated;
revoke all on all sequences in schema public from anon, authenticated;
grant usage on schema public to anon, authenticated, service_role;
grant select on public.profiles to authenticated;
grant update (spending_cap_cents) on public.profiles to authenticated;
grant select, insert, delete on public.workflows to authenticated;
grant update (name, graph, version, deleted_at) on public.workflows to authenticated;
grant select, insert, delete on public.loras to authenticated;
grant select on public.runs, public.node_runs, public.credit_ledger to authenticated;
grant select, delete on public.assets to authenticated;
grant select, insert on public.api_keys to authenticated;
grant update (revoked_at, name) on public.api_keys to authenticated;
grant all on all tables in schema public to service_role;
grant all on all sequences in schema public to service_role;
