-- Billing: the Pro plan on Stripe. The profile mirrors the user's subscription as Stripe
-- last reported it (webhooks re-read it from Stripe, so the order they arrive in does not
-- matter); the ledger says who pays for every entry and when a charge reached Stripe.

alter table public.profiles add column stripe_subscription_id text;
alter table public.profiles add column subscription_status text check (subscription_status in
  ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid',
   'paused'));
alter table public.profiles add column subscription_period_end timestamptz;
-- When the subscription went past_due: Pro stays until the grace period after it ends.
alter table public.profiles add column past_due_since timestamptz;
-- A ceiling above the platform's maximum cap, set only by an admin.
alter table public.profiles add column spending_cap_limit_cents integer
  check (spending_cap_limit_cents >= 0);
create index profiles_past_due_idx on public.profiles (past_due_since)
  where subscription_status = 'past_due';

-- Who pays for an entry: the user's free ALLOWANCE, the user through STRIPE (Pro), or the
-- PLATFORM (admins). Fixed when the run is reserved, so a role change mid-run cannot move
-- a charge between payers.
alter table public.credit_ledger add column payer text not null default 'ALLOWANCE'
  check (payer in ('ALLOWANCE', 'STRIPE', 'PLATFORM'));
drop index public.credit_ledger_unreported_idx;
create index credit_ledger_unreported_idx on public.credit_ledger (created_at)
  where entry = 'CHARGE' and payer = 'STRIPE' and reported_at is null;
create index credit_ledger_node_run_idx on public.credit_ledger (node_run_id);

-- The platform's spend per UTC day (reserved + charged - released), kept by a trigger so
-- that checking the daily limit reads one row instead of summing the day's ledger.
create table public.platform_daily_spend (
  day date primary key,
  cents bigint not null default 0
);
alter table public.platform_daily_spend enable row level security;
alter table public.platform_daily_spend force row level security;

create or replace function public.count_platform_spend() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.entry in ('RESERVE', 'CHARGE', 'RELEASE') then
    insert into public.platform_daily_spend as s (day, cents)
    values ((new.created_at at time zone 'utc')::date,
            case when new.entry = 'RELEASE' then -new.amount_cents else new.amount_cents end)
    on conflict (day) do update set cents = s.cents + excluded.cents;
  end if;
  return new;
end
$$;
create trigger credit_ledger_platform_spend after insert on public.credit_ledger
  for each row execute function public.count_platform_spend();

-- The ledger is append-only: a trigger refuses any change but marking a charge reported,
-- and any delete but the cascade of a deleted account (a foreign key's action runs one
-- trigger level down).
create or replace function public.ledger_append_only() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' then
    if pg_trigger_depth() > 1 then
      return old;
    end if;
    raise exception 'the credit ledger is append-only';
  end if;
  if (new.id, new.user_id, new.entry, new.amount_cents, new.period, new.idempotency_key, new.payer)
     is distinct from
     (old.id, old.user_id, old.entry, old.amount_cents, old.period, old.idempotency_key, old.payer) then
    raise exception 'credit ledger entries cannot change; only reported_at may be set';
  end if;
  return new;
end
$$;
create trigger credit_ledger_append_only before update or delete on public.credit_ledger
  for each row execute function public.ledger_append_only();

-- Users change their cap through the API, which enforces the platform's maximum; a direct
-- write through Supabase's REST API would skip that check.
revoke update (spending_cap_cents) on public.profiles from authenticated;
grant all on public.platform_daily_spend to service_role;
