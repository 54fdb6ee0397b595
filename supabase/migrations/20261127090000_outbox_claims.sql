-- The relay claims messages for a short while instead of holding a transaction open while
-- it sends them to Redis: a claim is one statement, the delete after the send another, and
-- no connection or row lock waits on Redis. A relay that dies after claiming leaves the
-- claim to lapse; the next relay sends those messages then (at least once, as before).
alter table public.outbox add column claimed_until timestamptz;
