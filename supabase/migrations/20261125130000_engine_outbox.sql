-- The run engine heals itself: the messages a state change causes are written in the same
-- transaction (an outbox a relay hands to Dramatiq), and logs are capped per node.

create table public.outbox (
  id bigint generated always as identity primary key,
  actor text not null,
  args jsonb not null default '[]'::jsonb,
  queue text not null,
  created_at timestamptz not null default now()
);
create index outbox_created_idx on public.outbox (created_at);
alter table public.outbox enable row level security;
alter table public.outbox force row level security;
grant all on public.outbox to service_role;

-- Stored logs keep the last lines only; the count says how many there were in all.
alter table public.node_runs add column logs_total integer not null default 0;
-- fal's own count of log lines already stored, so a resumed request appends nothing twice.
alter table public.node_runs add column fal_logs_seen integer not null default 0;

-- Finding stalled in-flight work quickly.
create index node_runs_active_idx on public.node_runs (updated_at)
  where status in ('QUEUED', 'RUNNING');

-- fal's webhooks name the request.
create index node_runs_fal_request_idx on public.node_runs (fal_request_id)
  where fal_request_id is not null;
