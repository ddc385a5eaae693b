-- The functions of a ref's limit: its base (the first run-time override found, else the configured
-- one), what rollover carries into its period and the grants that count, which the batch adds up (see
-- batch.sql); and the writes of run-time limits and grants (compare-and-set of the limits' version).
-- They mirror @spendguard/core's effective-limit.ts and record-adapter.ts (carriedOf, limitOf, grant).
-- `@schema` is the adapter's schema, quoted; `@lock` a number unique to it. Each file of functions/
-- holds the current definition of its functions, applied after every migration (see src/migrate.ts).

-- The base limit of a ref: the first run-time override among its keys, else the configured one.
CREATE OR REPLACE FUNCTION @schema.limit_of(ref jsonb, overrides jsonb) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $body$
DECLARE
  k text;
BEGIN
  IF overrides IS NOT NULL THEN
    FOR k IN SELECT jsonb_array_elements_text(ref->'limitKeys') LOOP
      IF overrides ? k THEN
        RETURN (overrides->>k)::bigint;
      END IF;
    END LOOP;
  END IF;
  RETURN (ref->>'limit')::bigint;
END $body$;

-- effective-limit.ts carriedIn: min(max, max(0, base − used before)); nothing when `p_previous_used` is
-- null (the instance's first period).
CREATE OR REPLACE FUNCTION @schema.carried_in(p_max bigint, p_base bigint, p_previous_used bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $body$
  SELECT CASE WHEN p_previous_used IS NULL THEN 0::bigint ELSE least(p_max, greatest(0::bigint, p_base - p_previous_used)) END
$body$;

-- effective-limit.ts activeGrants: the grants ([amount, expires_at] pairs) that count at `p_now`. A loop
-- of simple expressions: about five times faster than a query over jsonb_array_elements, and it runs
-- for every ref of every call on an instance with grants.
CREATE OR REPLACE FUNCTION @schema.active_grants(p_grants jsonb, p_now bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $body$
DECLARE
  v_sum bigint := 0;
  i integer;
BEGIN
  FOR i IN 0 .. jsonb_array_length(p_grants) - 1 LOOP
    IF (p_grants->i->>1)::bigint > p_now THEN
      v_sum := v_sum + (p_grants->i->>0)::bigint;
    END IF;
  END LOOP;
  RETURN v_sum;
END $body$;

-- What rollover carries into a ref's period before its totals exist (record-adapter.ts carriedOf), for a
-- base limit `p_base`. The batch holds the rows it locked in arrays and writes them at its end, so it
-- passes what the table cannot tell yet: `p_prev_held`, whether it holds the previous period's row, and
-- then `p_prev_used`, that row's used (null: no totals). Once the period's totals exist, they keep the
-- amount and the batch reads it there (no call). Volatile: the batch may have moved the instance's
-- latest period in an earlier statement.
CREATE OR REPLACE FUNCTION @schema.carried_into(p_ref jsonb, p_base bigint, p_prev_held boolean, p_prev_used bigint)
RETURNS bigint
LANGUAGE plpgsql AS $body$
DECLARE
  v_previous text := p_ref->'rollover'->>'previous';
  v_used bigint := p_prev_used;
  v_last text;
BEGIN
  IF NOT p_prev_held THEN
    -- Not locked: a batch adding to the previous period meanwhile commits as if after this one.
    SELECT tt.used INTO v_used FROM @schema.totals AS tt
      WHERE tt.instance = p_ref->>'name' AND tt.period = v_previous AND tt.opened;
  END IF;
  IF v_used IS NULL THEN
    SELECT i.last_period INTO v_last FROM @schema.instances AS i WHERE i.name = p_ref->>'name';
    -- Active before, idle all through the previous period: its whole limit went unused. ('' is a batch's
    -- placeholder for an instance not yet written.)
    IF v_last <> '' AND v_last COLLATE "C" < v_previous COLLATE "C" THEN
      v_used := 0;
    END IF;
  END IF;
  RETURN @schema.carried_in((p_ref->'rollover'->>'max')::bigint, p_base, v_used);
END $body$;

-- The compare-and-set under set_limit and grant_limit: moves the limits version on by one if it is still
-- `p_expected`. Answers { ok, version }: the new version, or the one it had moved on to. The caller holds
-- the exclusive limits lock.
CREATE OR REPLACE FUNCTION @schema.bump_limits_version(p_expected bigint) RETURNS jsonb
LANGUAGE plpgsql AS $body$
DECLARE
  v_version bigint;
BEGIN
  UPDATE @schema.meta AS m SET value = m.value + 1 WHERE m.key = 'limits_version' AND m.value = p_expected
    RETURNING m.value INTO v_version;
  IF NOT FOUND THEN
    SELECT m.value INTO v_version FROM @schema.meta AS m WHERE m.key = 'limits_version';
    RETURN jsonb_build_object('ok', false, 'version', v_version);
  END IF;
  RETURN jsonb_build_object('ok', true, 'version', v_version);
END $body$;

-- Writes a run-time limit override if the limits are still at `p_expected` (compare-and-set).
CREATE OR REPLACE FUNCTION @schema.set_limit(p_name text, p_amount bigint, p_expected bigint) RETURNS jsonb
LANGUAGE plpgsql AS $body$
DECLARE
  v_res jsonb;
BEGIN
  PERFORM pg_advisory_xact_lock(@lock + 2); -- waits for the batches that read the limits before
  v_res := @schema.bump_limits_version(p_expected);
  IF (v_res->>'ok')::boolean THEN
    INSERT INTO @schema.limits AS l (name, amount) VALUES (p_name, p_amount)
      ON CONFLICT (name) DO UPDATE SET amount = excluded.amount;
  END IF;
  RETURN v_res;
END $body$;

-- Writes a grant if the limits are still at `p_expected` (compare-and-set, as set_limit), moving their
-- version. A grant whose id is stored was written by this very call before its answer was lost: it
-- answers ok and changes nothing, whatever the version now.
CREATE OR REPLACE FUNCTION @schema.grant_limit(
  p_id text, p_name text, p_amount bigint, p_expires_at bigint, p_granted_at bigint, p_reason text, p_expected bigint
) RETURNS jsonb
LANGUAGE plpgsql AS $body$
DECLARE
  v_version bigint;
  v_res jsonb;
BEGIN
  PERFORM pg_advisory_xact_lock(@lock + 2); -- waits for the batches that read the limits before
  IF EXISTS (SELECT 1 FROM @schema.grants AS g WHERE g.id = p_id) THEN
    SELECT m.value INTO v_version FROM @schema.meta AS m WHERE m.key = 'limits_version';
    RETURN jsonb_build_object('ok', true, 'version', v_version);
  END IF;
  v_res := @schema.bump_limits_version(p_expected);
  IF (v_res->>'ok')::boolean THEN
    INSERT INTO @schema.grants (id, name, amount, expires_at, granted_at, reason)
      VALUES (p_id, p_name, p_amount, p_expires_at, p_granted_at, p_reason);
  END IF;
  RETURN v_res;
END $body$;
