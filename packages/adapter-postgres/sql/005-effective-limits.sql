-- Schema 2, its functions beside the batch: the parts of the effective limit beside the base (what
-- rollover carries, the active grants), a row's standing totals with what was carried, forgetting
-- expired grants, and writing a grant. They mirror @spendguard/core's effective-limit.ts and
-- record-adapter.ts (carriedOf, limitOf, grant); the batch adds them up (see 006-batch.sql).
-- `limit_of` (002-functions.sql) stays the base limit: the first override found, else the configured one.

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

-- A row's totals as they stand, as a read, a refused or a replayed call reports them (a row the batch
-- has not loaded, or created only to lock it, reads as absent: null `opened`); `carried` for refs with
-- rollover, else null.
CREATE OR REPLACE FUNCTION @schema.standing(
  lim bigint, opened boolean, used bigint, reserved bigint, leased bigint, day text, day_used bigint, ref_day text, carried bigint
) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $body$
DECLARE
  t jsonb;
BEGIN
  IF NOT coalesce(opened, false) THEN
    t := jsonb_build_object('limit', lim, 'limitBefore', lim, 'used', 0, 'usedBefore', 0, 'reserved', 0, 'dayUsed', 0);
  ELSE
    t := jsonb_build_object('limit', lim, 'limitBefore', lim, 'used', used, 'usedBefore', used, 'reserved', reserved,
      'dayUsed', CASE WHEN day = ref_day COLLATE "C" THEN day_used ELSE 0 END);
    IF leased <> 0 THEN
      t := t || jsonb_build_object('leased', leased);
    END IF;
  END IF;
  IF carried IS NOT NULL THEN
    t := t || jsonb_build_object('carried', carried);
  END IF;
  RETURN t;
END $body$;
DROP FUNCTION IF EXISTS @schema.standing(bigint, boolean, bigint, bigint, bigint, text, bigint, text);

-- Deletes up to `max` rows whose forget time has passed, skipping rows other batches hold. Grants count
-- by the callers' clocks, so they go once expired by both `p_now` (the server's) and `p_grants_now`
-- (the earliest caller's): a caller whose clock is behind the server's still counts its grants.
CREATE OR REPLACE FUNCTION @schema.forget_due(p_now bigint, p_max integer, p_grants_now bigint) RETURNS integer
LANGUAGE plpgsql AS $body$
DECLARE
  left_ integer := p_max;
  n integer;
BEGIN
  DELETE FROM @schema.idempotency WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM @schema.idempotency WHERE forget_at > 0 AND forget_at <= p_now LIMIT left_ FOR UPDATE SKIP LOCKED));
  GET DIAGNOSTICS n = ROW_COUNT; left_ := left_ - n;
  IF left_ > 0 THEN
    DELETE FROM @schema.reservations WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM @schema.reservations WHERE forget_at <= p_now LIMIT left_ FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT; left_ := left_ - n;
  END IF;
  IF left_ > 0 THEN
    DELETE FROM @schema.leases WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM @schema.leases WHERE forget_at <= p_now LIMIT left_ FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT; left_ := left_ - n;
  END IF;
  IF left_ > 0 THEN
    DELETE FROM @schema.feed WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM @schema.feed WHERE forget_at <= p_now LIMIT left_ FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT; left_ := left_ - n;
  END IF;
  IF left_ > 0 THEN
    DELETE FROM @schema.totals WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM @schema.totals WHERE forget_at > 0 AND forget_at <= p_now LIMIT left_ FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT; left_ := left_ - n;
  END IF;
  IF left_ > 0 THEN
    DELETE FROM @schema.instances WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM @schema.instances WHERE forget_at > 0 AND forget_at <= p_now LIMIT left_ FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT; left_ := left_ - n;
  END IF;
  IF left_ > 0 THEN
    DELETE FROM @schema.calls WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM @schema.calls WHERE forget_at <= p_now LIMIT left_ FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT; left_ := left_ - n;
  END IF;
  IF left_ > 0 THEN
    DELETE FROM @schema.grants WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM @schema.grants WHERE expires_at <= least(p_now, p_grants_now) LIMIT left_ FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT; left_ := left_ - n;
  END IF;
  RETURN p_max - left_;
END $body$;
DROP FUNCTION IF EXISTS @schema.forget_due(bigint, integer);

-- Writes a grant if the limits are still at `p_expected` (compare-and-set, as set_limit), moving their
-- version. A grant whose id is stored was written by this very call before its answer was lost: it
-- answers ok and changes nothing, whatever the version now.
CREATE OR REPLACE FUNCTION @schema.grant_limit(
  p_id text, p_name text, p_amount bigint, p_expires_at bigint, p_granted_at bigint, p_reason text, p_expected bigint
) RETURNS jsonb
LANGUAGE plpgsql AS $body$
DECLARE
  v_version bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(@lock + 2); -- waits for the batches that read the limits before
  IF EXISTS (SELECT 1 FROM @schema.grants AS g WHERE g.id = p_id) THEN
    SELECT m.value INTO v_version FROM @schema.meta AS m WHERE m.key = 'limits_version';
    RETURN jsonb_build_object('ok', true, 'version', v_version);
  END IF;
  UPDATE @schema.meta AS m SET value = m.value + 1 WHERE m.key = 'limits_version' AND m.value = p_expected
    RETURNING m.value INTO v_version;
  IF NOT FOUND THEN
    SELECT m.value INTO v_version FROM @schema.meta AS m WHERE m.key = 'limits_version';
    RETURN jsonb_build_object('ok', false, 'version', v_version);
  END IF;
  INSERT INTO @schema.grants (id, name, amount, expires_at, granted_at, reason)
    VALUES (p_id, p_name, p_amount, p_expires_at, p_granted_at, p_reason);
  RETURN jsonb_build_object('ok', true, 'version', v_version);
END $body$;
