-- Schema 2: rollover and grants. `@schema` as in 001-tables.sql.

-- What rollover carried into the period, fixed by the step that opened it (see functions/batch.sql).
-- Periods opened before schema 2 carried nothing. Adding a column with a constant default rewrites no
-- rows.
ALTER TABLE @schema.totals ADD COLUMN carried bigint NOT NULL DEFAULT 0;

-- Temporary raises of one instance's limit, shared by every process on the schema. Written under the
-- run-time limits' lock (grant_limit), counted by batches while `expires_at` is after the caller's
-- clock, and forgotten once expired (forget_due).
CREATE TABLE @schema.grants (
  id text COLLATE "C" PRIMARY KEY,
  name text COLLATE "C" NOT NULL,
  amount bigint NOT NULL,
  expires_at bigint NOT NULL,
  granted_at bigint NOT NULL,
  reason text
);
-- A batch looks its instances' grants up by name; forget_due finds the expired ones.
CREATE INDEX grants_name ON @schema.grants (name);
CREATE INDEX grants_expiry ON @schema.grants (expires_at);

-- Schema 1's functions whose arguments changed in schema 2, which CREATE OR REPLACE cannot change:
-- standing() reports what was carried, forget_due() forgets expired grants by the callers' clocks. The
-- new ones are in functions/ (batch.sql, forget.sql).
DROP FUNCTION IF EXISTS @schema.standing(bigint, boolean, bigint, bigint, bigint, text, bigint, text);
DROP FUNCTION IF EXISTS @schema.forget_due(bigint, integer);
