-- The charge / settle / lease algorithm as one server-side function, so that each batch of calls is one
-- round trip and one transaction. It mirrors the JavaScript adapters' record adapter
-- (@spendguard/core's record-adapter.ts) step for step; the conformance suite holds both to one
-- behaviour. Its helpers are in limits.sql, feed.sql and forget.sql. `@schema` as in limits.sql.

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

-- One batch of calls, applied in order in one transaction, each all or nothing with its own result, with
-- rollover and grants in every limit a call sees (see limits.sql). `p_ops`: [{ t: 'c' | 's' | 'l' | 'r' |
-- 'o', now, … }] (see src/batch.ts), `p_refs`: the refs they point at by index, `p_settings`: { retention,
-- eventRetention, history, callRetention, sweep, now }. Returns { results, swept }.
--
-- Each call's `now` is its caller's clock: it decides which grants count, as the callers decide periods
-- and days. Housekeeping before the first call counts grants at that call's `now`; `now` in the settings
-- is the earliest of the batch (absent, as from an adapter older than schema 2: the server's clock).
--
-- Every totals row the batch touches is locked and read once, kept in arrays while the calls run, and
-- written once at the end (a row written once per call would leave one row version per call behind).
-- Locks, always in this order: the reservations and leases the calls name (by id), due holds and
-- slices (SKIP LOCKED: another batch is freeing them), the totals rows (sorted by instance and period),
-- the instance rows of periods opened, and last the feed's append lock. A deadlock the server still
-- detects aborts the whole batch, which the adapter sends again. Variables are prefixed v_ and the
-- row cache c_, so that none is ever taken for a column.
CREATE OR REPLACE FUNCTION @schema.batch(p_id text, p_ops jsonb, p_refs jsonb, p_settings jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $body$
DECLARE
  v_retention bigint := (p_settings->>'retention')::bigint;
  v_event_retention bigint := (p_settings->>'eventRetention')::bigint;
  v_history bigint := (p_settings->>'history')::bigint;
  v_overrides jsonb;
  -- Grants of the batch's instances that may count, by name: [[amount, expires_at], …]; null when none.
  v_grants jsonb;
  v_granting boolean;
  v_now bigint;
  v_calls_now bigint;
  v_op_now bigint;
  v_carried bigint;
  v_p integer;
  v_swept integer := 0;
  v_op jsonb;
  v_kind text;
  v_ref jsonb;
  v_refs jsonb;
  v_t jsonb;
  v_fact jsonb;
  v_lim bigint;
  v_results jsonb[] := '{}';
  v_facts jsonb[] := '{}';
  v_outs jsonb[];
  v_inst text[] := '{}';
  v_per text[] := '{}';
  v_forget bigint[] := '{}';
  v_create boolean[] := '{}';
  v_due_holds jsonb;
  v_due_slices jsonb;
  v_due jsonb;
  v_settles text[];
  v_keys text[];
  v_names text[];
  v_placeholders text[] := '{}';
  v_key record;
  v_row record;
  v_amount bigint;
  v_i integer;
  v_j integer;
  v_n integer;
  v_refused integer;
  v_reason text;
  v_ikey text;
  v_replay boolean;
  v_seen record;
  v_force boolean;
  v_overage jsonb;
  v_used bigint;
  v_given bigint;
  v_recorded bigint;
  v_slice bigint;
  v_want bigint;
  v_min bigint;
  v_free bigint;
  v_expires bigint;
  v_res jsonb;
  v_last text;
  v_prev integer;
  v_prev_used bigint;
  v_prev_limit bigint;
  v_new_day text;
  -- The calls' additions, applied by one block for every kind of call.
  a_ref jsonb[];
  a_lim bigint[];
  a_used bigint[];
  a_reserved bigint[];
  a_leased bigint[];
  a_idx integer[];
  -- Per ref of p_refs (by its index + 1): its row in the cache, its base limit, whether its effective
  -- limit has more than the base (rollover, or grants), and the cache row of its previous period.
  r_row integer[] := '{}';
  r_base bigint[] := '{}';
  r_more boolean[] := '{}';
  r_prev integer[] := '{}';
  -- What rollover carried into each ref of one charge, for its answer should it be refused or replayed.
  o_carried bigint[];
  v_x integer;
  -- The row cache: index by jsonb key [instance, period], then one array per column.
  c_index jsonb := '{}';
  c_n integer := 0;
  c_inst text[] := '{}';
  c_per text[] := '{}';
  c_opened boolean[] := '{}';
  c_used bigint[] := '{}';
  c_reserved bigint[] := '{}';
  c_leased bigint[] := '{}';
  c_day text[] := '{}';
  c_day_used bigint[] := '{}';
  c_seen_limit bigint[] := '{}';
  c_seen_used bigint[] := '{}';
  c_carried bigint[] := '{}';
  c_forget bigint[] := '{}';
  c_dirty boolean[] := '{}';
  c_created boolean[] := '{}';
BEGIN
  -- Limits are read under a shared lock that a limit write takes exclusively: a batch never checks a
  -- call against a limit older than one another batch has already seen.
  PERFORM pg_advisory_xact_lock_shared(@lock + 2);
  -- No grants at all is the hot path: one statement finds it, with the overrides.
  SELECT (SELECT jsonb_object_agg(l.name, l.amount) FROM @schema.limits AS l), EXISTS (SELECT 1 FROM @schema.grants)
    INTO v_overrides, v_granting;
  -- The server's clock decides expiry and retention, as every process and machine must agree on them;
  -- the callers' clocks decide only periods and days (in the refs).
  v_now := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  v_calls_now := coalesce((p_settings->>'now')::bigint, v_now);

  -- The rows the calls name, locked by id (only when the batch has such calls: most are all charges).
  v_settles := ARRAY(SELECT o->>'rid' FROM jsonb_array_elements(p_ops) AS o WHERE o->>'t' = 's');
  IF cardinality(v_settles) > 0 THEN
    PERFORM 1 FROM @schema.reservations AS r WHERE r.id = ANY(v_settles) ORDER BY r.id FOR UPDATE;
  END IF;
  IF p_ops @> '[{"t": "l"}]' THEN
    PERFORM 1 FROM @schema.leases AS l
      WHERE l.id = ANY(ARRAY(SELECT o->>'id' FROM jsonb_array_elements(p_ops) AS o WHERE o->>'t' = 'l'))
      ORDER BY l.id FOR UPDATE;
  END IF;
  -- Forgetting first, before the hot rows are locked: it holds nothing the calls wait for.
  IF (p_settings->>'sweep')::boolean THEN
    v_swept := @schema.forget_due(v_now, 256, v_calls_now);
  END IF;
  -- Holds whose time is up, and slices whose holder stopped renewing them (presumed dead).
  SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.expires_at), '[]') INTO v_due_holds FROM (
    SELECT r.id, r.amount, r.refs, r.expires_at FROM @schema.reservations AS r
    WHERE r.state = 'held' AND r.expires_at <= v_now ORDER BY r.expires_at LIMIT 1024 FOR UPDATE SKIP LOCKED) AS d;
  SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.expires_at), '[]') INTO v_due_slices FROM (
    SELECT l.id, l.amount, l.ref, l.expires_at FROM @schema.leases AS l
    WHERE l.amount > 0 AND l.expires_at <= v_now ORDER BY l.expires_at LIMIT 1024 FOR UPDATE SKIP LOCKED) AS d;

  -- The idempotency keys of the batch's charges, claimed in sorted order (a new key as a row of this
  -- batch, with forget_at 0 until its call is answered; an old one locked).
  v_keys := ARRAY(SELECT k FROM (SELECT DISTINCT o->>'key' AS k FROM jsonb_array_elements(p_ops) AS o
    WHERE o->>'t' = 'c' AND o->>'key' IS NOT NULL) AS d ORDER BY k COLLATE "C");
  FOREACH v_ikey IN ARRAY v_keys LOOP
    INSERT INTO @schema.idempotency (key, call_id, expires_at, forget_at) VALUES (v_ikey, '', NULL, 0) ON CONFLICT (key) DO NOTHING;
    IF NOT FOUND THEN
      PERFORM 1 FROM @schema.idempotency AS k WHERE k.key = v_ikey FOR UPDATE;
    END IF;
  END LOOP;

  -- Every totals row the batch reads or writes, created where a call may write it (so that two
  -- processes opening one instance-period queue on its row rather than race).
  FOR v_op IN SELECT e FROM jsonb_array_elements(p_ops) AS e LOOP
    IF v_op->>'t' IN ('c', 'o', 'l', 'r') THEN
      FOR v_ref IN
        SELECT p_refs->(x::int) FROM jsonb_array_elements_text(
          CASE WHEN v_op->>'t' = 'l' THEN jsonb_build_array(v_op->'ref') ELSE v_op->'refs' END) AS x
      LOOP
        v_inst := array_append(v_inst, v_ref->>'name');
        v_per := array_append(v_per, v_ref->>'period');
        v_forget := array_append(v_forget,
          CASE WHEN (v_ref->>'periodEnd')::bigint > 0 THEN (v_ref->>'periodEnd')::bigint + v_history ELSE 0 END);
        v_create := array_append(v_create, v_op->>'t' IN ('c', 'l') AND @schema.limit_of(v_ref, v_overrides) IS NOT NULL);
      END LOOP;
    END IF;
  END LOOP;
  FOR v_ref, v_n IN
    SELECT jsonb_array_elements(r.refs), 1 FROM @schema.reservations AS r WHERE r.id = ANY(v_settles)
    UNION ALL SELECT jsonb_array_elements(d->'refs'), 0 FROM jsonb_array_elements(v_due_holds) AS d
    UNION ALL SELECT d->'ref', 0 FROM jsonb_array_elements(v_due_slices) AS d
  LOOP
    v_inst := array_append(v_inst, v_ref->>'name');
    v_per := array_append(v_per, v_ref->>'period');
    v_forget := array_append(v_forget,
      CASE WHEN (v_ref->>'periodEnd')::bigint > 0 THEN (v_ref->>'periodEnd')::bigint + v_history ELSE 0 END);
    v_create := array_append(v_create, v_n = 1); -- a settle writes its refs; housekeeping skips a row that is gone
  END LOOP;
  -- Read under the limits' shared lock, as the overrides are.
  IF v_granting THEN
    SELECT jsonb_object_agg(g.name, g.list) INTO v_grants FROM (
      SELECT gg.name, jsonb_agg(jsonb_build_array(gg.amount, gg.expires_at)) AS list FROM @schema.grants AS gg
      WHERE gg.name = ANY(v_inst) AND gg.expires_at > v_calls_now GROUP BY gg.name) AS g;
  END IF;
  FOR v_key IN
    SELECT u.inst, u.per, bool_or(u.c) AS c, max(u.f) AS f
    FROM unnest(v_inst, v_per, v_forget, v_create) AS u(inst, per, f, c)
    GROUP BY u.inst, u.per
    ORDER BY u.inst COLLATE "C", u.per COLLATE "C"
  LOOP
    SELECT * INTO v_row FROM @schema.totals AS tt WHERE tt.instance = v_key.inst AND tt.period = v_key.per FOR UPDATE;
    v_replay := false; -- here: whether this batch created the row
    IF NOT FOUND AND v_key.c THEN
      INSERT INTO @schema.totals (instance, period, forget_at) VALUES (v_key.inst, v_key.per, v_key.f) ON CONFLICT DO NOTHING;
      v_replay := FOUND;
      SELECT * INTO v_row FROM @schema.totals AS tt WHERE tt.instance = v_key.inst AND tt.period = v_key.per FOR UPDATE;
    END IF;
    IF FOUND THEN
      c_n := c_n + 1;
      c_index := c_index || jsonb_build_object(jsonb_build_array(v_key.inst, v_key.per)::text, c_n);
      c_inst[c_n] := v_row.instance;
      c_per[c_n] := v_row.period;
      c_opened[c_n] := v_row.opened;
      c_used[c_n] := v_row.used;
      c_reserved[c_n] := v_row.reserved;
      c_leased[c_n] := v_row.leased;
      c_day[c_n] := v_row.day;
      c_day_used[c_n] := v_row.day_used;
      c_seen_limit[c_n] := v_row.seen_limit;
      c_seen_used[c_n] := v_row.seen_used;
      c_carried[c_n] := v_row.carried;
      c_forget[c_n] := v_row.forget_at;
      c_dirty[c_n] := false;
      c_created[c_n] := v_replay;
    END IF;
  END LOOP;
  -- The instance rows a first write of a period may move, locked (or created, as placeholders with no
  -- period, removed again below if unused) in sorted order.
  v_names := ARRAY(SELECT DISTINCT u.inst FROM unnest(c_inst, c_opened) AS u(inst, opened) WHERE NOT u.opened ORDER BY 1);
  v_names := ARRAY(SELECT n FROM unnest(v_names) AS n ORDER BY n COLLATE "C");
  FOREACH v_last IN ARRAY v_names LOOP
    INSERT INTO @schema.instances (name, rule, last_period, forget_at) VALUES (v_last, '', '', 0) ON CONFLICT (name) DO NOTHING;
    IF FOUND THEN
      v_placeholders := array_append(v_placeholders, v_last);
    ELSE
      PERFORM 1 FROM @schema.instances AS i WHERE i.name = v_last FOR UPDATE;
    END IF;
  END LOOP;

  FOR v_ref, v_x IN SELECT e, o::int FROM jsonb_array_elements(p_refs) WITH ORDINALITY AS a(e, o) LOOP
    r_row[v_x] := (c_index->>(jsonb_build_array(v_ref->>'name', v_ref->>'period')::text))::int;
    r_base[v_x] := @schema.limit_of(v_ref, v_overrides);
    r_more[v_x] := v_ref ? 'rollover' OR coalesce(v_grants ? (v_ref->>'name'), false);
    IF v_ref ? 'rollover' THEN
      r_prev[v_x] := (c_index->>(jsonb_build_array(v_ref->>'name', v_ref->'rollover'->>'previous')::text))::int;
    END IF;
  END LOOP;

  -- Housekeeping, as every writing step of the JavaScript adapters does it first.
  FOR v_due IN SELECT e FROM jsonb_array_elements(v_due_holds) AS e LOOP
    FOR v_ref IN SELECT jsonb_array_elements(v_due->'refs') LOOP
      v_i := (c_index->>(jsonb_build_array(v_ref->>'name', v_ref->>'period')::text))::int;
      IF v_i IS NOT NULL THEN
        c_reserved[v_i] := c_reserved[v_i] - (v_due->>'amount')::bigint;
        c_dirty[v_i] := true;
      END IF;
    END LOOP;
    UPDATE @schema.reservations AS r SET state = 'expired', forget_at = (v_due->>'expires_at')::bigint + v_retention
      WHERE r.id = v_due->>'id';
  END LOOP;
  FOR v_due IN SELECT e FROM jsonb_array_elements(v_due_slices) AS e LOOP
    v_ref := v_due->'ref';
    v_amount := (v_due->>'amount')::bigint;
    v_i := (c_index->>(jsonb_build_array(v_ref->>'name', v_ref->>'period')::text))::int;
    IF v_i IS NOT NULL THEN
      -- Its holder is presumed dead: the slice is charged in full. The level seen so far stays in
      -- seen_used for the next step's listeners, and the feed has the crossing now.
      -- Part of the first call's step, as housekeeping is of each step in record-adapter.ts: its `now`.
      v_lim := @schema.limit_of(v_ref, v_overrides);
      IF v_lim IS NOT NULL AND (v_ref ? 'rollover' OR v_grants ? (v_ref->>'name')) THEN
        v_p := (c_index->>(jsonb_build_array(v_ref->>'name', v_ref->'rollover'->>'previous')::text))::int;
        v_carried := CASE WHEN NOT v_ref ? 'rollover' THEN 0 WHEN c_opened[v_i] THEN c_carried[v_i]
          ELSE @schema.carried_into(v_ref, v_lim, v_p IS NOT NULL, CASE WHEN c_opened[v_p] THEN c_used[v_p] END) END;
        v_lim := v_lim + v_carried + CASE WHEN v_grants ? (v_ref->>'name')
          THEN @schema.active_grants(v_grants->(v_ref->>'name'), coalesce((p_ops->0->>'now')::bigint, v_now)) ELSE 0 END;
      END IF;
      v_lim := coalesce(v_lim, 0);
      v_fact := @schema.fact_for(v_ref, jsonb_build_object('limit', v_lim, 'limitBefore', v_lim, 'used', c_used[v_i] + v_amount),
        v_now, v_amount, NULL);
      IF v_fact IS NOT NULL THEN v_facts := array_append(v_facts, v_fact); END IF;
      c_seen_used[v_i] := coalesce(c_seen_used[v_i], c_used[v_i]);
      c_used[v_i] := c_used[v_i] + v_amount;
      c_reserved[v_i] := c_reserved[v_i] - v_amount;
      c_leased[v_i] := c_leased[v_i] - v_amount;
      IF (v_ref->>'day') COLLATE "C" > c_day[v_i] THEN
        c_day[v_i] := v_ref->>'day';
        c_day_used[v_i] := v_amount;
      ELSIF (v_ref->>'day') COLLATE "C" = c_day[v_i] THEN
        c_day_used[v_i] := c_day_used[v_i] + v_amount;
      END IF;
      c_dirty[v_i] := true;
    END IF;
    UPDATE @schema.leases AS l SET amount = 0, recorded = l.recorded + v_amount,
      forget_at = (v_due->>'expires_at')::bigint + v_retention
      WHERE l.id = v_due->>'id';
  END LOOP;
  FOR v_op IN SELECT e FROM jsonb_array_elements(p_ops) WITH ORDINALITY AS a(e, o) ORDER BY o LOOP
    v_kind := v_op->>'t';
    v_op_now := coalesce((v_op->>'now')::bigint, v_now);
    a_ref := '{}'; a_lim := '{}'; a_used := '{}'; a_reserved := '{}'; a_leased := '{}'; a_idx := '{}';
    v_overage := NULL;
    v_used := 0;
    IF v_kind IN ('c', 'r', 'o') THEN
      v_refs := v_op->'refs'; -- indexes into p_refs
      v_n := jsonb_array_length(v_refs);
    END IF;

    IF v_kind = 'c' THEN
      -- A charge: a spend (used) or a reservation (reserved), refused whole if any hard budget would pass.
      v_amount := (v_op->>'amount')::bigint;
      v_force := (v_op->>'force')::boolean;
      v_ikey := v_op->>'key';
      v_replay := false;
      IF v_ikey IS NOT NULL THEN
        -- Claimed above (a concurrent call with the same key waits there until this batch commits): a
        -- row of this batch not yet answered (forget_at 0) or forgotten is this call's; a live one replays.
        SELECT k.call_id, k.expires_at, k.forget_at INTO v_seen FROM @schema.idempotency AS k WHERE k.key = v_ikey;
        IF NOT FOUND THEN -- given back by a refused call earlier in this batch
          INSERT INTO @schema.idempotency (key, call_id, expires_at, forget_at) VALUES (v_ikey, '', NULL, 0);
        ELSE
          v_replay := v_seen.forget_at > v_now;
        END IF;
      END IF;
      -- Every ref's limit at this call's `now` (a refused or replayed call reports them all) and its
      -- additions, the hard ones checked in order.
      v_used := CASE WHEN (v_op->>'reserve')::boolean THEN 0 ELSE v_amount END;
      v_refused := -1;
      o_carried := '{}';
      FOR v_j IN 0 .. v_n - 1 LOOP
        v_x := (v_refs->>v_j)::int + 1;
        v_ref := p_refs->(v_x - 1);
        v_lim := r_base[v_x];
        v_i := r_row[v_x];
        IF r_more[v_x] AND v_lim IS NOT NULL THEN
          v_p := r_prev[v_x];
          v_carried := CASE WHEN NOT v_ref ? 'rollover' THEN NULL WHEN c_opened[v_i] THEN c_carried[v_i]
            ELSE @schema.carried_into(v_ref, v_lim, v_p IS NOT NULL, CASE WHEN c_opened[v_p] THEN c_used[v_p] END) END;
          v_lim := v_lim + coalesce(v_carried, 0) + CASE WHEN v_grants ? (v_ref->>'name')
            THEN @schema.active_grants(v_grants->(v_ref->>'name'), v_op_now) ELSE 0 END;
          o_carried[v_j + 1] := v_carried;
        END IF;
        IF v_refused < 0 AND NOT v_replay AND NOT v_force AND (v_ref->>'hard')::boolean THEN
          IF v_lim IS NULL THEN
            v_refused := v_j; v_reason := 'no_budget';
          ELSIF coalesce(c_used[v_i] + c_reserved[v_i], 0) + v_amount > v_lim THEN
            v_refused := v_j; v_reason := 'limit_exceeded';
          END IF;
        END IF;
        a_ref := array_append(a_ref, v_ref);
        a_lim := array_append(a_lim, v_lim);
        a_idx := array_append(a_idx, v_i);
        a_used := array_append(a_used, v_used);
        a_reserved := array_append(a_reserved, v_amount - v_used);
        a_leased := array_append(a_leased, 0::bigint);
      END LOOP;
      IF v_replay OR v_refused >= 0 THEN
        -- Answered with the totals as they stand, as a refused or replayed call reports them.
        v_outs := '{}';
        FOR v_j IN 0 .. v_n - 1 LOOP
          v_x := (v_refs->>v_j)::int + 1;
          v_lim := a_lim[v_j + 1];
          v_i := r_row[v_x];
          IF v_lim IS NULL THEN
            v_outs := array_append(v_outs, 'null'::jsonb);
          ELSE
            v_outs := array_append(v_outs, @schema.standing(v_lim, c_opened[v_i], c_used[v_i], c_reserved[v_i], c_leased[v_i],
              c_day[v_i], c_day_used[v_i], p_refs->(v_x - 1)->>'day', o_carried[v_j + 1]));
          END IF;
        END LOOP;
        IF v_replay THEN
          v_res := jsonb_build_object('ok', true, 'callId', v_seen.call_id, 'replayed', true, 'totals', to_jsonb(v_outs));
          IF v_seen.expires_at IS NOT NULL THEN v_res := v_res || jsonb_build_object('expiresAt', v_seen.expires_at); END IF;
        ELSE
          IF v_ikey IS NOT NULL THEN DELETE FROM @schema.idempotency AS k WHERE k.key = v_ikey; END IF;
          v_res := jsonb_build_object('ok', false, 'refusedAt', v_refused, 'reason', v_reason, 'totals', to_jsonb(v_outs));
        END IF;
        v_results := array_append(v_results, v_res);
        CONTINUE;
      END IF;
      v_overage := CASE WHEN v_force THEN nullif(v_op->'overage', 'null'::jsonb) END;

    ELSIF v_kind = 's' THEN
      -- Settles a reservation: commit (the actual amount becomes used) or release; the hold is freed.
      SELECT r.amount, r.refs, r.state, r.spend_id, r.actual, r.expired INTO v_row
        FROM @schema.reservations AS r WHERE r.id = v_op->>'rid';
      IF NOT FOUND THEN
        v_results := array_append(v_results, jsonb_build_object('status', 'unknown'));
        CONTINUE;
      END IF;
      IF v_row.state = 'released' THEN
        v_results := array_append(v_results, jsonb_build_object('status', 'released_before'));
        CONTINUE;
      END IF;
      IF v_row.state = 'committed' THEN
        v_results := array_append(v_results, jsonb_build_object('status', 'committed_before', 'spendId', v_row.spend_id,
          'actual', v_row.actual, 'reserved', v_row.amount, 'expired', v_row.expired));
        CONTINUE;
      END IF;
      v_used := CASE WHEN (v_op->>'commit')::boolean THEN (v_op->>'amount')::bigint ELSE 0 END;
      v_overage := CASE WHEN (v_op->>'commit')::boolean AND v_used > v_row.amount THEN
        jsonb_build_object('reservationId', v_op->>'rid', 'reserved', v_row.amount, 'actual', v_used) END;
      FOR v_ref IN SELECT e FROM jsonb_array_elements(v_row.refs) WITH ORDINALITY AS a(e, o) ORDER BY o LOOP
        v_i := (c_index->>(jsonb_build_array(v_ref->>'name', v_ref->>'period')::text))::int;
        v_lim := @schema.limit_of(v_ref, v_overrides);
        IF v_lim IS NOT NULL AND (v_ref ? 'rollover' OR v_grants ? (v_ref->>'name')) THEN
          v_p := (c_index->>(jsonb_build_array(v_ref->>'name', v_ref->'rollover'->>'previous')::text))::int;
          v_carried := CASE WHEN NOT v_ref ? 'rollover' THEN 0 WHEN c_opened[v_i] THEN c_carried[v_i]
            ELSE @schema.carried_into(v_ref, v_lim, v_p IS NOT NULL, CASE WHEN c_opened[v_p] THEN c_used[v_p] END) END;
          v_lim := v_lim + v_carried + CASE WHEN v_grants ? (v_ref->>'name')
            THEN @schema.active_grants(v_grants->(v_ref->>'name'), v_op_now) ELSE 0 END;
        END IF;
        a_ref := array_append(a_ref, v_ref);
        -- A ref left without a limit still takes the settle, at limit 0 (record-adapter.ts settle).
        a_lim := array_append(a_lim, coalesce(v_lim, 0));
        a_idx := array_append(a_idx, v_i);
        a_used := array_append(a_used, v_used);
        a_reserved := array_append(a_reserved, CASE WHEN v_row.state = 'expired' THEN 0 ELSE -v_row.amount END);
        a_leased := array_append(a_leased, 0::bigint);
      END LOOP;

    ELSIF v_kind = 'l' THEN
      -- A lease step for one slice: records what its holder spent since the last step (it sends its
      -- total, so a step sent again counts once), gives back what it held and takes the new slice.
      v_x := (v_op->>'ref')::int + 1;
      v_ref := p_refs->(v_x - 1);
      v_lim := r_base[v_x];
      v_i := r_row[v_x];
      IF r_more[v_x] AND v_lim IS NOT NULL THEN
        v_p := r_prev[v_x];
        v_carried := CASE WHEN NOT v_ref ? 'rollover' THEN 0 WHEN c_opened[v_i] THEN c_carried[v_i]
          ELSE @schema.carried_into(v_ref, v_lim, v_p IS NOT NULL, CASE WHEN c_opened[v_p] THEN c_used[v_p] END) END;
        v_lim := v_lim + v_carried + CASE WHEN v_grants ? (v_ref->>'name')
          THEN @schema.active_grants(v_grants->(v_ref->>'name'), v_op_now) ELSE 0 END;
      END IF;
      IF v_lim IS NULL THEN
        v_results := array_append(v_results, jsonb_build_object('slice', 0, 'totals', NULL));
        CONTINUE;
      END IF;
      v_given := NULL;
      v_recorded := NULL;
      SELECT l.amount, l.recorded INTO v_given, v_recorded FROM @schema.leases AS l WHERE l.id = v_op->>'id';
      v_given := coalesce(v_given, 0);
      v_recorded := coalesce(v_recorded, 0);
      v_used := greatest(0, (v_op->>'spent')::bigint - v_recorded);
      v_free := v_lim - (c_used[v_i] + v_used) - (c_reserved[v_i] - v_given);
      v_slice := 0;
      IF (v_ref->>'hard')::boolean THEN
        -- lease-grant.ts: `want` while twice that is free; else half of what is free, at least `min`.
        v_min := (v_op->>'min')::bigint;
        v_want := greatest((v_op->>'want')::bigint, v_min);
        IF v_want > 0 AND v_free > 0 AND v_free >= v_min THEN
          v_slice := CASE WHEN v_free >= 2 * v_want THEN v_want ELSE least(v_free, greatest(v_min, v_free / 2)) END;
        END IF;
      END IF;
      a_ref := ARRAY[v_ref];
      a_lim := ARRAY[v_lim];
      a_used := ARRAY[v_used];
      a_reserved := ARRAY[v_slice - v_given];
      a_leased := ARRAY[v_slice - v_given];
      a_idx := ARRAY[v_i];

    ELSIF v_kind IN ('r', 'o') THEN
      -- Reads; an observe also reports a limit or level change no step has reported yet (once: it is then seen).
      v_outs := '{}';
      FOR v_j IN 0 .. v_n - 1 LOOP
        v_x := (v_refs->>v_j)::int + 1;
        v_ref := p_refs->(v_x - 1);
        v_lim := r_base[v_x];
        v_carried := NULL;
        v_i := r_row[v_x];
        IF r_more[v_x] AND v_lim IS NOT NULL THEN
          v_p := r_prev[v_x];
          v_carried := CASE WHEN NOT v_ref ? 'rollover' THEN NULL WHEN c_opened[v_i] THEN c_carried[v_i]
            ELSE @schema.carried_into(v_ref, v_lim, v_p IS NOT NULL, CASE WHEN c_opened[v_p] THEN c_used[v_p] END) END;
          v_lim := v_lim + coalesce(v_carried, 0) + CASE WHEN v_grants ? (v_ref->>'name')
            THEN @schema.active_grants(v_grants->(v_ref->>'name'), v_op_now) ELSE 0 END;
        END IF;
        IF v_lim IS NULL THEN
          v_outs := array_append(v_outs, 'null'::jsonb);
          CONTINUE;
        END IF;
        v_t := @schema.standing(v_lim, c_opened[v_i], c_used[v_i], c_reserved[v_i], c_leased[v_i], c_day[v_i], c_day_used[v_i],
          v_ref->>'day', v_carried);
        IF NOT coalesce(c_opened[v_i], false) THEN
          v_outs := array_append(v_outs, v_t);
          CONTINUE;
        END IF;
        IF v_kind = 'o' AND (c_seen_limit[v_i] IS DISTINCT FROM v_lim OR c_seen_used[v_i] IS NOT NULL) THEN
          v_t := v_t || jsonb_build_object('limitBefore', coalesce(c_seen_limit[v_i], v_lim),
            'usedBefore', coalesce(c_seen_used[v_i], c_used[v_i]));
          v_fact := @schema.fact_for(v_ref, v_t, v_now, c_used[v_i] - coalesce(c_seen_used[v_i], c_used[v_i]), NULL);
          IF v_fact IS NOT NULL THEN v_facts := array_append(v_facts, v_fact); END IF;
          c_seen_limit[v_i] := v_lim;
          c_seen_used[v_i] := NULL;
          c_dirty[v_i] := true;
        END IF;
        v_outs := array_append(v_outs, v_t);
      END LOOP;
      v_results := array_append(v_results, to_jsonb(v_outs));
      CONTINUE;
    ELSE
      RAISE EXCEPTION 'spendguard: unknown batch operation %', v_kind;
    END IF;

    -- The call's additions, each to its instance-period (record-adapter.ts add): a null limit is skipped;
    -- the first write of a period moves the instance's latest period and reports the previous one.
    v_outs := '{}';
    FOR v_j IN 1 .. coalesce(array_length(a_ref, 1), 0) LOOP
      v_ref := a_ref[v_j];
      v_lim := a_lim[v_j];
      IF v_lim IS NULL THEN
        v_outs := array_append(v_outs, 'null'::jsonb);
        CONTINUE;
      END IF;
      v_i := a_idx[v_j];
      IF v_i IS NULL THEN
        RAISE EXCEPTION 'spendguard: totals row % % was not loaded', v_ref->>'name', v_ref->>'period';
      END IF;
      v_new_day := v_ref->>'day';
      IF a_used[v_j] > 0 AND v_new_day COLLATE "C" >= c_day[v_i] THEN
        IF v_new_day COLLATE "C" = c_day[v_i] THEN
          c_day_used[v_i] := c_day_used[v_i] + a_used[v_j];
        ELSE
          c_day[v_i] := v_new_day;
          c_day_used[v_i] := a_used[v_j];
        END IF;
      END IF;
      v_t := jsonb_build_object(
        'limit', v_lim, 'limitBefore', coalesce(c_seen_limit[v_i], v_lim), 'used', c_used[v_i] + a_used[v_j],
        'usedBefore', coalesce(c_seen_used[v_i], c_used[v_i]), 'reserved', c_reserved[v_i] + a_reserved[v_j],
        'dayUsed', CASE WHEN c_day[v_i] = v_new_day COLLATE "C" THEN c_day_used[v_i] ELSE 0 END);
      IF a_leased[v_j] <> 0 OR c_leased[v_i] <> 0 THEN
        v_t := v_t || jsonb_build_object('leased', c_leased[v_i] + a_leased[v_j]);
      END IF;
      c_used[v_i] := c_used[v_i] + a_used[v_j];
      c_reserved[v_i] := c_reserved[v_i] + a_reserved[v_j];
      c_leased[v_i] := c_leased[v_i] + a_leased[v_j];
      c_seen_limit[v_i] := v_lim;
      c_seen_used[v_i] := NULL;
      c_forget[v_i] := CASE WHEN (v_ref->>'periodEnd')::bigint > 0 THEN (v_ref->>'periodEnd')::bigint + v_history ELSE 0 END;
      c_dirty[v_i] := true;
      IF NOT c_opened[v_i] THEN
        -- The step that opens a period fixes what rollover carries into it, before the period is the latest.
        IF v_ref ? 'rollover' THEN
          v_p := (c_index->>(jsonb_build_array(v_ref->>'name', v_ref->'rollover'->>'previous')::text))::int;
          c_carried[v_i] := @schema.carried_into(v_ref, coalesce(@schema.limit_of(v_ref, v_overrides), 0), v_p IS NOT NULL,
            CASE WHEN c_opened[v_p] THEN c_used[v_p] END);
        END IF;
        c_opened[v_i] := true;
        SELECT i.last_period INTO v_last FROM @schema.instances AS i WHERE i.name = v_ref->>'name';
        IF NOT FOUND OR v_last = '' THEN v_last := NULL; END IF;
        IF v_last IS NULL OR (v_ref->>'period') COLLATE "C" > v_last THEN
          IF v_last IS NOT NULL THEN
            v_prev := (c_index->>(jsonb_build_array(v_ref->>'name', v_last)::text))::int;
            IF v_prev IS NOT NULL THEN
              v_prev_used := c_used[v_prev];
              v_prev_limit := c_seen_limit[v_prev];
            ELSE
              v_prev_used := NULL;
              v_prev_limit := NULL;
              SELECT tt.used, tt.seen_limit INTO v_prev_used, v_prev_limit FROM @schema.totals AS tt
                WHERE tt.instance = v_ref->>'name' AND tt.period = v_last;
            END IF;
            -- With the limit its level was last derived from: the level it ended at is judged by it.
            v_t := v_t || jsonb_build_object('previous', jsonb_strip_nulls(jsonb_build_object('period', v_last,
              'used', coalesce(v_prev_used, 0), 'limit', v_prev_limit)));
          END IF;
          INSERT INTO @schema.instances AS i (name, rule, last_period, forget_at)
            VALUES (v_ref->>'name', v_ref->>'rule', v_ref->>'period', c_forget[v_i])
            ON CONFLICT (name) DO UPDATE SET rule = excluded.rule, last_period = excluded.last_period, forget_at = excluded.forget_at
            WHERE i.last_period < excluded.last_period;
        END IF;
      END IF;
      IF v_ref ? 'rollover' THEN
        v_t := v_t || jsonb_build_object('carried', c_carried[v_i]);
      END IF;
      v_fact := @schema.fact_for(v_ref, v_t, v_now, a_used[v_j], v_overage);
      IF v_fact IS NOT NULL THEN v_facts := array_append(v_facts, v_fact); END IF;
      v_outs := array_append(v_outs, v_t);
    END LOOP;

    IF v_kind = 'c' THEN
      v_res := jsonb_build_object('ok', true, 'callId', v_op->>'id', 'replayed', false, 'totals', to_jsonb(v_outs));
      v_expires := NULL;
      IF (v_op->>'reserve')::boolean THEN
        v_expires := v_now + (v_op->>'ttl')::bigint;
        INSERT INTO @schema.reservations AS r (id, amount, refs, expires_at, state, forget_at)
          VALUES (v_op->>'id', v_amount,
            (SELECT coalesce(jsonb_agg(e ORDER BY o), '[]') FROM unnest(a_ref, a_lim) WITH ORDINALITY AS u(e, lim, o)
              WHERE u.lim IS NOT NULL),
            v_expires, 'held', NULL)
          ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, refs = excluded.refs, expires_at = excluded.expires_at,
            state = 'held', spend_id = NULL, actual = NULL, expired = NULL, forget_at = NULL;
        v_res := v_res || jsonb_build_object('expiresAt', v_expires);
      END IF;
      IF v_ikey IS NOT NULL THEN
        -- A reservation's key lives as long as the reservation can still be settled, and then the retention.
        UPDATE @schema.idempotency AS k SET call_id = v_op->>'id', expires_at = v_expires,
          forget_at = coalesce(v_expires, v_now) + v_retention
          WHERE k.key = v_ikey;
      END IF;
      v_results := array_append(v_results, v_res);
    ELSIF v_kind = 's' THEN
      IF (v_op->>'commit')::boolean THEN
        UPDATE @schema.reservations AS r SET state = 'committed', spend_id = v_op->>'spend', actual = v_used,
          expired = v_row.state = 'expired', forget_at = v_now + v_retention WHERE r.id = v_op->>'rid';
      ELSE
        UPDATE @schema.reservations AS r SET state = 'released', forget_at = v_now + v_retention WHERE r.id = v_op->>'rid';
      END IF;
      v_results := array_append(v_results, jsonb_build_object('status', 'applied', 'reserved', v_row.amount,
        'expired', v_row.state = 'expired', 'instances', v_row.refs, 'totals', to_jsonb(v_outs)));
    ELSE
      -- Kept while it holds; then as long as a step sent again could still arrive (the retention).
      INSERT INTO @schema.leases AS l (id, amount, recorded, ref, expires_at, forget_at)
        VALUES (v_op->>'id', v_slice, greatest(v_recorded, (v_op->>'spent')::bigint), v_ref,
          v_now + (v_op->>'expire')::bigint, CASE WHEN v_slice > 0 THEN NULL ELSE v_now + v_retention END)
        ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, recorded = excluded.recorded, ref = excluded.ref,
          expires_at = excluded.expires_at, forget_at = excluded.forget_at;
      v_results := array_append(v_results, jsonb_build_object('slice', v_slice, 'totals', v_outs[1]));
    END IF;
  END LOOP;

  -- Each row the batch changed, written once.
  UPDATE @schema.totals AS tt SET
    opened = u.opened, used = u.used, reserved = u.reserved, leased = u.leased, day = u.day, day_used = u.day_used,
    seen_limit = u.seen_limit, seen_used = u.seen_used, carried = u.carried, forget_at = u.forget
  FROM unnest(c_inst, c_per, c_opened, c_used, c_reserved, c_leased, c_day, c_day_used, c_seen_limit, c_seen_used,
    c_carried, c_forget, c_dirty)
    AS u(inst, per, opened, used, reserved, leased, day, day_used, seen_limit, seen_used, carried, forget, dirty)
  WHERE u.dirty AND tt.instance = u.inst AND tt.period = u.per;

  -- What only served to lock goes again: a refused call stores nothing.
  DELETE FROM @schema.totals AS tt USING unnest(c_inst, c_per, c_created, c_opened) AS u(inst, per, created, opened)
    WHERE u.created AND NOT u.opened AND tt.instance = u.inst AND tt.period = u.per;
  IF cardinality(v_placeholders) > 0 THEN
    DELETE FROM @schema.instances AS i WHERE i.name = ANY(v_placeholders) AND i.last_period = '';
  END IF;

  IF cardinality(v_facts) > 0 THEN
    -- Held until commit, so that the feed's ids are in commit order: a reader that saw a fact never
    -- misses an earlier one that commits later.
    PERFORM pg_advisory_xact_lock(@lock);
    INSERT INTO @schema.feed (fact, forget_at)
      SELECT f, v_now + v_event_retention FROM unnest(v_facts) WITH ORDINALITY AS u(f, o) ORDER BY o;
  END IF;
  -- Last: a fence written for this id by a client that gave up on the batch makes it fail here, whole.
  INSERT INTO @schema.calls (id, results, forget_at) VALUES (p_id, to_jsonb(v_results), v_now + (p_settings->>'callRetention')::bigint);
  RETURN jsonb_build_object('results', to_jsonb(v_results), 'swept', v_swept);
END $body$;
