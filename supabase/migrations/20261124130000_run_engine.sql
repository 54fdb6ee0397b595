-- What the run engine needs beyond the core schema: when a node run last changed (to find
-- stalled work and to order events), and where a persistent asset's bytes came from.

alter table public.node_runs add column updated_at timestamptz not null default now();
create trigger node_runs_touch before update on public.node_runs
  for each row execute function public.touch_updated_at();
-- The worker executing a node holds a lease it keeps renewing; a duplicate delivery waits
-- for the lease to lapse instead of submitting a second (paid) fal request.
alter table public.node_runs add column lease_until timestamptz;

alter table public.runs add column updated_at timestamptz not null default now();
create trigger runs_touch before update on public.runs
  for each row execute function public.touch_updated_at();

-- Uploaded images are assets too; they have no model.
alter table public.assets add column source text not null default 'GENERATED'
  check (source in ('GENERATED', 'UPLOADED'));
alter table public.assets add column file_size_bytes bigint;
alter table public.assets drop column file_size;
