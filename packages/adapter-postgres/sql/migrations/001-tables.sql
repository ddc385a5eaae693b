-- Schema 1: the tables. `@schema` is the adapter's schema, quoted. Text keys sort byte-wise (COLLATE "C"),
-- as JavaScript compares period keys and pages instance names.
--
-- migrations/ holds what a schema version must change in order, once: tables, backfills of their data,
-- and the DROP of a function whose arguments or result type changed. The functions themselves are in
-- functions/, written once as they are now, and applied after any migration (see src/migrate.ts).

-- One instance's totals in one period. `opened` is false for a row that a step created only to lock it
-- (a call that was then refused): it reads as absent until a step first writes it.
CREATE TABLE @schema.totals (
  instance text COLLATE "C" NOT NULL,
  period text COLLATE "C" NOT NULL,
  opened boolean NOT NULL DEFAULT false,
  used bigint NOT NULL DEFAULT 0,
  reserved bigint NOT NULL DEFAULT 0,
  leased bigint NOT NULL DEFAULT 0,
  day text COLLATE "C" NOT NULL DEFAULT '',
  day_used bigint NOT NULL DEFAULT 0,
  seen_limit bigint,
  seen_used bigint,
  forget_at bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (instance, period)
) WITH (fillfactor = 50);
CREATE INDEX totals_forget ON @schema.totals (forget_at) WHERE forget_at > 0;

-- Each instance's latest period, listed per rule.
CREATE TABLE @schema.instances (
  name text COLLATE "C" PRIMARY KEY,
  rule text COLLATE "C" NOT NULL,
  last_period text COLLATE "C" NOT NULL,
  forget_at bigint NOT NULL DEFAULT 0
);
CREATE INDEX instances_rule ON @schema.instances (rule, name);
CREATE INDEX instances_forget ON @schema.instances (forget_at) WHERE forget_at > 0;

-- Run-time limit overrides, and the version that every write of them moves.
CREATE TABLE @schema.limits (
  name text COLLATE "C" PRIMARY KEY,
  amount bigint NOT NULL
);
CREATE TABLE @schema.meta (
  key text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO @schema.meta (key, value) VALUES ('limits_version', 0);

CREATE TABLE @schema.reservations (
  id text COLLATE "C" PRIMARY KEY,
  amount bigint NOT NULL,
  refs jsonb NOT NULL,
  expires_at bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('held', 'expired', 'committed', 'released')),
  spend_id text,
  actual bigint,
  expired boolean,
  forget_at bigint
);
CREATE INDEX reservations_held ON @schema.reservations (expires_at) WHERE state = 'held';
CREATE INDEX reservations_forget ON @schema.reservations (forget_at) WHERE forget_at IS NOT NULL;

CREATE TABLE @schema.idempotency (
  key text COLLATE "C" PRIMARY KEY,
  call_id text NOT NULL,
  expires_at bigint,
  forget_at bigint NOT NULL
);
CREATE INDEX idempotency_forget ON @schema.idempotency (forget_at);

-- Leased slices by slice id: `amount` held now, `recorded` of its holder's spend counted so far.
CREATE TABLE @schema.leases (
  id text COLLATE "C" PRIMARY KEY,
  amount bigint NOT NULL,
  recorded bigint NOT NULL,
  ref jsonb NOT NULL,
  expires_at bigint NOT NULL,
  forget_at bigint
);
CREATE INDEX leases_held ON @schema.leases (expires_at) WHERE amount > 0;
CREATE INDEX leases_forget ON @schema.leases (forget_at) WHERE forget_at IS NOT NULL;

-- The durable event feed. Appends are serialised (see batch), so `seq` order is commit order.
CREATE TABLE @schema.feed (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  fact jsonb NOT NULL,
  forget_at bigint NOT NULL
);
CREATE INDEX feed_forget ON @schema.feed (forget_at);

-- One row per batch that committed, with its results: a client that lost the answer reads them back;
-- a row with null results is a fence that a lost batch arriving late collides with (and so records nothing).
CREATE TABLE @schema.calls (
  id text COLLATE "C" PRIMARY KEY,
  results jsonb,
  forget_at bigint NOT NULL
);
CREATE INDEX calls_forget ON @schema.calls (forget_at);
