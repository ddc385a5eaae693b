-- The charge / settle / lease algorithm as server-side functions, so that each batch of calls is one
-- round trip and one transaction. It mirrors the JavaScript adapters' record adapter
-- (@spendguard/core's record-adapter.ts) step for step; the conformance suite holds both to one
-- behaviour. `@schema` is the adapter's schema, quoted; `@lock` a number unique to it.

-- The effective limit of a ref: the first run-time override among its keys, else the configured one.
CREATE OR REPLACE FUNCTION @schema.limit_of(ref jsonb, overrides jsonb) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
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
END $$;

-- Whether `used` moved across a mark (level thresholds as fractions of the limit, or absolute amounts),
-- give or take a micro-unit and 1e-12 relative, or the limit changed, or the step opened a period: the
-- same superset test as the JavaScript adapters (feed.ts crossesMark).
CREATE OR REPLACE FUNCTION @schema.crosses_mark(
  marks jsonb, used_before bigint, used bigint, limit_before bigint, lim bigint, opens boolean
) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  lo double precision;
  hi double precision;
  tolerance double precision;
  p double precision;
  v text;
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
  FOR v IN SELECT jsonb_array_elements_text(marks->'fractions') LOOP
    p := v::double precision * lim;
    IF lo < p + tolerance AND hi >= p - tolerance THEN
      RETURN true;
    END IF;
  END LOOP;
  FOR v IN SELECT jsonb_array_elements_text(marks->'amounts') LOOP
    p := v::double precision;
    IF lo < p + tolerance AND hi >= p - tolerance THEN
      RETURN true;
    END IF;
  END LOOP;
  RETURN false;
END $$;

-- The feed fact for a step's totals `t` on `ref`, or null when the step caused no event there.
CREATE OR REPLACE FUNCTION @schema.fact_for(ref jsonb, t jsonb, at bigint, used_delta bigint, overage jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
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
END $$;

-- The totals of `ref` as they stand (a row created only to be locked reads as absent).
CREATE OR REPLACE FUNCTION @schema.totals_of(ref jsonb, lim bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  r @schema.totals%ROWTYPE;
  t jsonb;
BEGIN
  SELECT * INTO r FROM @schema.totals WHERE instance = ref->>'name' AND period = ref->>'period' AND opened;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('limit', lim, 'limitBefore', lim, 'used', 0, 'usedBefore', 0, 'reserved', 0, 'dayUsed', 0);
  END IF;
  t := jsonb_build_object(
    'limit', lim, 'limitBefore', lim, 'used', r.used, 'usedBefore', r.used, 'reserved', r.reserved,
    'dayUsed', CASE WHEN r.day = (ref->>'day') COLLATE "C" THEN r.day_used ELSE 0 END
  );
  IF r.leased <> 0 THEN
    t := t || jsonb_build_object('leased', r.leased);
  END IF;
  RETURN t;
END $$;

-- Current totals of refs (null where no limit applies), as a refused or replayed call reports them.
CREATE OR REPLACE FUNCTION @schema.current_totals(refs jsonb, overrides jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  ref jsonb;
  lim bigint;
  v_out jsonb[] := '{}';
BEGIN
  FOR ref IN SELECT e FROM jsonb_array_elements(refs) WITH ORDINALITY AS a(e, i) ORDER BY i LOOP
    lim := @schema.limit_of(ref, overrides);
    v_out := array_append(v_out, CASE WHEN lim IS NULL THEN 'null'::jsonb ELSE @schema.totals_of(ref, lim) END);
  END LOOP;
  RETURN to_jsonb(v_out);
END $$;

-- Adds to one instance-period (`d_leased`: the part of `d_reserved` that is a leased slice) and returns
-- its totals; the first write of a period moves the instance's latest period (and reports the previous).
CREATE OR REPLACE FUNCTION @schema.add_to(
  ref jsonb, lim bigint, d_used bigint, d_reserved bigint, d_leased bigint, history_ms bigint
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_name text := ref->>'name';
  v_period text := ref->>'period';
  v_day text := ref->>'day';
  period_end bigint := (ref->>'periodEnd')::bigint;
  forget bigint;
  r @schema.totals%ROWTYPE;
  t jsonb;
  new_day text;
  new_day_used bigint;
  last text;
  previous_used bigint;
BEGIN
  forget := CASE WHEN period_end > 0 THEN period_end + history_ms ELSE 0 END;
  SELECT * INTO r FROM @schema.totals WHERE instance = v_name AND period = v_period FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO @schema.totals (instance, period, forget_at) VALUES (v_name, v_period, forget) ON CONFLICT DO NOTHING;
    SELECT * INTO r FROM @schema.totals WHERE instance = v_name AND period = v_period FOR UPDATE;
  END IF;
  new_day := r.day;
  new_day_used := r.day_used;
  IF d_used > 0 AND v_day COLLATE "C" >= r.day THEN
    IF v_day COLLATE "C" = r.day THEN
      new_day_used := r.day_used + d_used;
    ELSE
      new_day := v_day;
      new_day_used := d_used;
    END IF;
  END IF;
  t := jsonb_build_object(
    'limit', lim, 'limitBefore', coalesce(r.seen_limit, lim), 'used', r.used + d_used,
    'usedBefore', coalesce(r.seen_used, r.used), 'reserved', r.reserved + d_reserved,
    'dayUsed', CASE WHEN new_day = v_day COLLATE "C" THEN new_day_used ELSE 0 END
  );
  IF d_leased <> 0 OR r.leased <> 0 THEN
    t := t || jsonb_build_object('leased', r.leased + d_leased);
  END IF;
  UPDATE @schema.totals SET
    opened = true, used = r.used + d_used, reserved = r.reserved + d_reserved, leased = r.leased + d_leased,
    day = new_day, day_used = new_day_used, seen_limit = lim, seen_used = NULL, forget_at = forget
  WHERE instance = v_name AND period = v_period;
  IF NOT r.opened THEN
    SELECT last_period INTO last FROM @schema.instances WHERE name = v_name FOR UPDATE;
    IF last IS NULL OR v_period COLLATE "C" > last THEN
      IF last IS NOT NULL THEN
        SELECT used INTO previous_used FROM @schema.totals WHERE instance = v_name AND period = last;
        t := t || jsonb_build_object('previous', jsonb_build_object('period', last, 'used', coalesce(previous_used, 0)));
      END IF;
      INSERT INTO @schema.instances AS i (name, rule, last_period, forget_at) VALUES (v_name, ref->>'rule', v_period, forget)
        ON CONFLICT (name) DO UPDATE SET last_period = excluded.last_period, forget_at = excluded.forget_at
        WHERE i.last_period < excluded.last_period;
    END IF;
  END IF;
  RETURN t;
END $$;

-- Locks the totals rows of a batch in one fixed order (instance, period), so that concurrent batches
-- never deadlock; creates those a call may write (`create`), so that two processes opening one
-- instance-period queue on its row rather than race.
CREATE OR REPLACE FUNCTION @schema.lock_totals(insts text[], periods text[], forgets bigint[], creates boolean[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  k record;
BEGIN
  FOR k IN
    SELECT u.inst, u.per, bool_or(u.c) AS c, max(u.f) AS f
    FROM unnest(insts, periods, forgets, creates) AS u(inst, per, f, c)
    GROUP BY u.inst, u.per
    ORDER BY u.inst COLLATE "C", u.per COLLATE "C"
  LOOP
    PERFORM 1 FROM @schema.totals WHERE instance = k.inst AND period = k.per FOR UPDATE;
    IF NOT FOUND AND k.c THEN
      INSERT INTO @schema.totals (instance, period, forget_at) VALUES (k.inst, k.per, k.f) ON CONFLICT DO NOTHING;
      PERFORM 1 FROM @schema.totals WHERE instance = k.inst AND period = k.per FOR UPDATE;
    END IF;
  END LOOP;
END $$;

-- Deletes up to `max` rows whose forget time has passed, skipping rows other batches hold.
CREATE OR REPLACE FUNCTION @schema.forget_due(p_now bigint, p_max integer) RETURNS integer
LANGUAGE plpgsql AS $$
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
END $$;
