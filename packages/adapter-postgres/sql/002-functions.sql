-- The charge / settle / lease algorithm as server-side functions, so that each batch of calls is one
-- round trip and one transaction. It mirrors the JavaScript adapters' record adapter
-- (@spendguard/core's record-adapter.ts) step for step; the conformance suite holds both to one
-- behaviour. `@schema` is the adapter's schema, quoted; `@lock` a number unique to it.

-- The effective limit of a ref: the first run-time override among its keys, else the configured one.
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

-- Whether `used` moved across a mark (level thresholds as fractions of the limit, or absolute amounts),
-- give or take a micro-unit and 1e-12 relative, or the limit changed, or the step opened a period: the
-- same superset test as the JavaScript adapters (feed.ts crossesMark). The marks' JSON arrays are read
-- as float8[] by their text (no query per call: this runs for every instance of every call).
CREATE OR REPLACE FUNCTION @schema.crosses_mark(
  marks jsonb, used_before bigint, used bigint, limit_before bigint, lim bigint, opens boolean
) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $body$
DECLARE
  lo double precision;
  hi double precision;
  tolerance double precision;
  p double precision;
BEGIN
  IF opens OR lim <> limit_before THEN
    RETURN true;
  END IF;
  IF used = used_before THEN
    RETURN false;
  END IF;
  lo := least(used, used_before);
  hi := greatest(used, used_before);
  tolerance := 1 + lim * 1e-12;
  FOREACH p IN ARRAY translate((marks->'fractions')::text, '[]', '{}')::float8[] LOOP
    IF lo < p * lim + tolerance AND hi >= p * lim - tolerance THEN
      RETURN true;
    END IF;
  END LOOP;
  FOREACH p IN ARRAY translate((marks->'amounts')::text, '[]', '{}')::float8[] LOOP
    IF lo < p + tolerance AND hi >= p - tolerance THEN
      RETURN true;
    END IF;
  END LOOP;
  RETURN false;
END $body$;

-- The feed fact for a step's totals `t` on `ref`, or null when the step caused no event there.
CREATE OR REPLACE FUNCTION @schema.fact_for(ref jsonb, t jsonb, at bigint, used_delta bigint, overage jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $body$
DECLARE
  used_before bigint := (t->>'used')::bigint - used_delta;
  fact jsonb;
BEGIN
  IF jsonb_typeof(ref->'marks') IS DISTINCT FROM 'object' THEN
    RETURN NULL;
  END IF;
  IF overage IS NULL AND NOT @schema.crosses_mark(
    ref->'marks', used_before, (t->>'used')::bigint, (t->>'limitBefore')::bigint, (t->>'limit')::bigint, t ? 'previous'
  ) THEN
    RETURN NULL;
  END IF;
  fact := jsonb_build_object(
    'at', at, 'name', ref->'name', 'rule', ref->'rule', 'period', ref->'period',
    'usedBefore', used_before, 'used', t->'used', 'limitBefore', t->'limitBefore', 'limit', t->'limit'
  );
  IF t ? 'previous' THEN
    fact := fact || jsonb_build_object('previous', t->'previous');
  END IF;
  IF overage IS NOT NULL THEN
    fact := fact || jsonb_build_object('overage', overage);
  END IF;
  RETURN fact;
END $body$;

-- A row's totals as they stand, as a read, a refused or a replayed call reports them (a row the batch
-- has not loaded, or created only to lock it, reads as absent: null `opened`).
CREATE OR REPLACE FUNCTION @schema.standing(
  lim bigint, opened boolean, used bigint, reserved bigint, leased bigint, day text, day_used bigint, ref_day text
) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $body$
DECLARE
  t jsonb;
BEGIN
  IF NOT coalesce(opened, false) THEN
    RETURN jsonb_build_object('limit', lim, 'limitBefore', lim, 'used', 0, 'usedBefore', 0, 'reserved', 0, 'dayUsed', 0);
  END IF;
  t := jsonb_build_object('limit', lim, 'limitBefore', lim, 'used', used, 'usedBefore', used, 'reserved', reserved,
    'dayUsed', CASE WHEN day = ref_day COLLATE "C" THEN day_used ELSE 0 END);
  IF leased <> 0 THEN
    t := t || jsonb_build_object('leased', leased);
  END IF;
  RETURN t;
END $body$;

-- Deletes up to `max` rows whose forget time has passed, skipping rows other batches hold.
CREATE OR REPLACE FUNCTION @schema.forget_due(p_now bigint, p_max integer) RETURNS integer
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
  RETURN p_max - left_;
END $body$;
