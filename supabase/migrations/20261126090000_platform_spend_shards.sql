-- Today's platform spend was one row that every reservation, charge and release updated, so
-- every run start and every node settlement on the platform queued behind one row lock until
-- its transaction committed. Spread it over 16 rows per day, chosen by user (one user's
-- entries always land on the same row, so a transaction never holds two of them); the total
-- is their sum. Run starts check the sum without locks while far from the limit and lock
-- every row of the day when close to it (services/billing/ledger.py).

alter table public.platform_daily_spend add column shard smallint not null default 0
  check (shard between 0 and 15);
alter table public.platform_daily_spend drop constraint platform_daily_spend_pkey;
alter table public.platform_daily_spend add primary key (day, shard);

create or replace function public.count_platform_spend() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.entry in ('RESERVE', 'CHARGE', 'RELEASE') then
    insert into public.platform_daily_spend as s (day, shard, cents)
    values ((new.created_at at time zone 'utc')::date,
            abs(hashtext(new.user_id::text)) % 16,
            case when new.entry = 'RELEASE' then -new.amount_cents else new.amount_cents end)
    on conflict (day, shard) do update set cents = s.cents + excluded.cents;
  end if;
  return new;
end
$$;

create or replace function public.platform_spend_on(target date) returns bigint
language sql stable
set search_path = ''
as $$
  select coalesce(sum(cents), 0)::bigint from public.platform_daily_spend where day = target
$$;
revoke all on function public.platform_spend_on(date) from public, anon, authenticated;
grant execute on function public.platform_spend_on(date) to service_role;
