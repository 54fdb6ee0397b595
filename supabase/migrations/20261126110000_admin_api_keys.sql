-- Issue 9: the admin console, MFA in the local issuer, API keys with scopes, and an audit
-- log nobody can rewrite.

-- Suspension: a suspended user signs in and sees their gallery, but runs, uploads and
-- persisting are refused (services check `suspended_at`).
alter table public.profiles add column suspended_at timestamptz;

-- API keys carry scopes: READ, and RUN (which includes spending). Keys are made only by the
-- API (it hashes the secret), never written through Supabase's REST API.
alter table public.api_keys add column scopes text[] not null default '{READ}'
  check (cardinality(scopes) between 1 and 2 and scopes <@ array['READ', 'RUN']::text[]);
revoke insert, update on public.api_keys from authenticated;

-- Why an admin granted or adjusted credits, shown with the entry.
alter table public.credit_ledger add column note text check (char_length(note) <= 500);

-- Models an admin turned off for everyone; absent means enabled.
create table public.model_settings (
  model_id text primary key,
  enabled boolean not null,
  updated_at timestamptz not null default now()
);
alter table public.model_settings enable row level security;
alter table public.model_settings force row level security;

-- The platform's settings an admin may change at run time; one row. A null limit falls
-- back to PLATFORM_DAILY_SPEND_LIMIT_CENTS.
create table public.platform_settings (
  id boolean primary key default true check (id),
  daily_spend_limit_cents bigint check (daily_spend_limit_cents >= 0),
  updated_at timestamptz not null default now()
);
alter table public.platform_settings enable row level security;
alter table public.platform_settings force row level security;

-- TOTP factors of the local issuer (dev without Supabase, where Supabase Auth keeps its own).
-- The secret is readable by the service only: no policy, no grant.
create table public.mfa_factors (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  factor_type text not null default 'totp' check (factor_type = 'totp'),
  friendly_name text,
  secret text not null,
  status text not null default 'unverified' check (status in ('unverified', 'verified')),
  -- The last TOTP time step accepted: a code is never accepted twice.
  last_step bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index mfa_factors_user_idx on public.mfa_factors (user_id);
create table public.mfa_challenges (
  id uuid primary key default gen_random_uuid(),
  factor_id uuid not null references public.mfa_factors (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '5 minutes',
  verified_at timestamptz
);
alter table public.mfa_factors enable row level security;
alter table public.mfa_factors force row level security;
alter table public.mfa_challenges enable row level security;
alter table public.mfa_challenges force row level security;

-- The audit log is append-only for every role, its owner included: rows are inserted and
-- never changed, except that deleting an account clears the actor (the foreign key's own
-- action, one trigger level down).
create or replace function public.audit_log_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and pg_trigger_depth() > 1 and new.actor_id is null
     and (new.id, new.action, new.target, new.ip, new.details, new.created_at)
         is not distinct from (old.id, old.action, old.target, old.ip, old.details, old.created_at) then
    return new;
  end if;
  raise exception 'the audit log is append-only';
end
$$;
create trigger audit_log_append_only before update or delete on public.audit_log
  for each row execute function public.audit_log_append_only();
create trigger audit_log_no_truncate before truncate on public.audit_log
  for each statement execute function public.audit_log_append_only();
create index audit_log_action_idx on public.audit_log (action, created_at desc);

revoke all on public.audit_log from anon, authenticated;
revoke update, delete, truncate on public.audit_log from service_role;
revoke all on public.model_settings, public.platform_settings, public.mfa_factors,
  public.mfa_challenges from anon, authenticated;
grant all on public.model_settings, public.platform_settings, public.mfa_factors,
  public.mfa_challenges to service_role;
