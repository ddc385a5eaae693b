-- One batch of calls, applied in order in one transaction, each all or nothing with its own result.
-- `p_ops`: [{ t: 'c' | 's' | 'l' | 'r' | 'o', … }] (see src/batch.ts), `p_refs`: the refs they point
-- at by index, `p_settings`: { retention, eventRetention, history, sweep }. Returns { results, swept }.
--
-- Locks, always in this order: the reservations and leases the calls name (by id), due holds and
-- slices (SKIP LOCKED: another batch is freeing them), the totals rows (lock_totals, sorted), the
-- instance rows of periods opened, and last the feed's append lock. A deadlock the server still
-- detects aborts the whole batch, which the adapter sends again.
-- Variables are prefixed v_ so that none is ever taken for a column.
CREATE OR REPLACE FUNCTION @schema.batch(p_id text, p_ops jsonb, p_refs jsonb, p_settings jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_retention bigint := (p_settings->>'retention')::bigint;
  v_event_retention bigint := (p_settings->>'eventRetention')::bigint;
  v_history bigint := (p_settings->>'history')::bigint;
  v_overrides jsonb;
  v_now bigint;
  v_swept integer := 0;
  v_op jsonb;
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
  v_row record;
  v_held bigint;
  v_amount bigint;
  v_op_now bigint;
  v_i integer;
  v_n integer;
  v_refused integer;
  v_reason text;
  v_key text;
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
BEGIN
  SELECT jsonb_object_agg(l.name, l.amount) INTO v_overrides FROM @schema.limits AS l;
  -- The server's clock decides expiry and retention, as every process and machine must agree on them;
  -- the callers' clocks decide only periods and days (in the refs).
  v_now := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;

  -- The rows the calls name, locked by id.
  PERFORM 1 FROM @schema.reservations AS r
    WHERE r.id = ANY(ARRAY(SELECT o->>'rid' FROM jsonb_array_elements(p_ops) AS o WHERE o->>'t' = 's'))
    ORDER BY r.id FOR UPDATE;
  PERFORM 1 FROM @schema.leases AS l
    WHERE l.id = ANY(ARRAY(SELECT o->>'id' FROM jsonb_array_elements(p_ops) AS o WHERE o->>'t' = 'l'))
    ORDER BY l.id FOR UPDATE;
  -- Holds whose time is up, and slices whose holder stopped renewing them (presumed dead).
  SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.expires_at), '[]') INTO v_due_holds FROM (
    SELECT r.id, r.amount, r.refs, r.expires_at FROM @schema.reservations AS r
    WHERE r.state = 'held' AND r.expires_at <= v_now ORDER BY r.expires_at LIMIT 64 FOR UPDATE SKIP LOCKED) AS d;
  SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.expires_at), '[]') INTO v_due_slices FROM (
    SELECT l.id, l.amount, l.ref, l.expires_at FROM @schema.leases AS l
    WHERE l.amount > 0 AND l.expires_at <= v_now ORDER BY l.expires_at LIMIT 64 FOR UPDATE SKIP LOCKED) AS d;

  -- The totals rows any part of the batch may write; created where a call may open them.
  FOR v_op IN SELECT e FROM jsonb_array_elements(p_ops) AS e LOOP
    IF v_op->>'t' IN ('c', 'o', 'l') THEN
      FOR v_ref IN
        SELECT p_refs->(x::int) FROM jsonb_array_elements_text(
          CASE WHEN v_op->>'t' = 'l' THEN jsonb_build_array(v_op->'ref') ELSE v_op->'refs' END) AS x
      LOOP
        v_inst := array_append(v_inst, v_ref->>'name');
        v_per := array_append(v_per, v_ref->>'period');
        v_forget := array_append(v_forget,
          CASE WHEN (v_ref->>'periodEnd')::bigint > 0 THEN (v_ref->>'periodEnd')::bigint + v_history ELSE 0 END);
        v_create := array_append(v_create, v_op->>'t' <> 'o' AND @schema.limit_of(v_ref, v_overrides) IS NOT NULL);
      END LOOP;
    END IF;
  END LOOP;
  FOR v_ref IN
    SELECT jsonb_array_elements(r.refs) FROM @schema.reservations AS r
      WHERE r.id = ANY(ARRAY(SELECT o->>'rid' FROM jsonb_array_elements(p_ops) AS o WHERE o->>'t' = 's'))
    UNION ALL SELECT jsonb_array_elements(d->'refs') FROM jsonb_array_elements(v_due_holds) AS d
    UNION ALL SELECT d->'ref' FROM jsonb_array_elements(v_due_slices) AS d
  LOOP
    v_inst := array_append(v_inst, v_ref->>'name');
    v_per := array_append(v_per, v_ref->>'period');
    v_forget := array_append(v_forget, 0::bigint);
    v_create := array_append(v_create, false);
  END LOOP;
  PERFORM @schema.lock_totals(v_inst, v_per, v_forget, v_create);

  -- Housekeeping, as every writing step of the JavaScript adapters does it first.
  FOR v_due IN SELECT e FROM jsonb_array_elements(v_due_holds) AS e LOOP
    UPDATE @schema.totals AS tt SET reserved = tt.reserved - (v_due->>'amount')::bigint
      FROM jsonb_array_elements(v_due->'refs') AS x
      WHERE tt.instance = x->>'name' AND tt.period = x->>'period';
    UPDATE @schema.reservations AS r SET state = 'expired', forget_at = (v_due->>'expires_at')::bigint + v_retention
      WHERE r.id = v_due->>'id';
  END LOOP;
  FOR v_due IN SELECT e FROM jsonb_array_elements(v_due_slices) AS e LOOP
    v_ref := v_due->'ref';
    v_amount := (v_due->>'amount')::bigint;
    SELECT tt.used INTO v_used FROM @schema.totals AS tt WHERE tt.instance = v_ref->>'name' AND tt.period = v_ref->>'period';
    IF FOUND THEN
      -- Its holder is presumed dead: the slice is charged in full. The level seen so far stays in
      -- seen_used for the next step's listeners, and the feed has the crossing now.
      v_lim := coalesce(@schema.limit_of(v_ref, v_overrides), 0);
      v_fact := @schema.fact_for(v_ref, jsonb_build_object('limit', v_lim, 'limitBefore', v_lim, 'used', v_used + v_amount),
        v_now, v_amount, NULL);
      IF v_fact IS NOT NULL THEN v_facts := array_append(v_facts, v_fact); END IF;
      UPDATE @schema.totals AS tt SET
        seen_used = coalesce(tt.seen_used, tt.used), used = tt.used + v_amount, reserved = tt.reserved - v_amount,
        leased = tt.leased - v_amount,
        day = CASE WHEN (v_ref->>'day') COLLATE "C" > tt.day THEN v_ref->>'day' ELSE tt.day END,
        day_used = CASE WHEN (v_ref->>'day') COLLATE "C" > tt.day THEN v_amount
                        WHEN (v_ref->>'day') COLLATE "C" = tt.day THEN tt.day_used + v_amount ELSE tt.day_used END
      WHERE tt.instance = v_ref->>'name' AND tt.period = v_ref->>'period';
    END IF;
    UPDATE @schema.leases AS l SET amount = 0, recorded = l.recorded + v_amount,
      forget_at = (v_due->>'expires_at')::bigint + v_retention
      WHERE l.id = v_due->>'id';
  END LOOP;
  IF (p_settings->>'sweep')::boolean THEN
    v_swept := @schema.forget_due(v_now, 256);
  END IF;

  FOR v_op IN SELECT e FROM jsonb_array_elements(p_ops) WITH ORDINALITY AS a(e, o) ORDER BY o LOOP
    v_op_now := v_now;

    IF v_op->>'t' = 'c' THEN
      -- A charge: a spend (used) or a reservation (reserved), refused whole if any hard budget would pass.
      SELECT coalesce(jsonb_agg(p_refs->(x::int) ORDER BY o), '[]') INTO v_refs
        FROM jsonb_array_elements_text(v_op->'refs') WITH ORDINALITY AS a(x, o);
      v_amount := (v_op->>'amount')::bigint;
      v_force := (v_op->>'force')::boolean;
      v_key := v_op->>'key';
      v_replay := false;
      IF v_key IS NOT NULL THEN
        -- Claimed first: a concurrent call with the same key waits here until this one commits.
        INSERT INTO @schema.idempotency (key, call_id, expires_at, forget_at) VALUES (v_key, v_op->>'id', NULL, 0)
          ON CONFLICT (key) DO NOTHING;
        IF NOT FOUND THEN
          SELECT k.call_id, k.expires_at, k.forget_at INTO v_seen FROM @schema.idempotency AS k WHERE k.key = v_key FOR UPDATE;
          v_replay := v_seen.forget_at > v_op_now;
        END IF;
      END IF;
      IF v_replay THEN
        v_res := jsonb_build_object('ok', true, 'callId', v_seen.call_id, 'replayed', true,
          'totals', @schema.current_totals(v_refs, v_overrides));
        IF v_seen.expires_at IS NOT NULL THEN v_res := v_res || jsonb_build_object('expiresAt', v_seen.expires_at); END IF;
        v_results := array_append(v_results, v_res);
        CONTINUE;
      END IF;
      v_n := jsonb_array_length(v_refs);
      v_refused := -1;
      IF NOT v_force THEN
        FOR v_i IN 0 .. v_n - 1 LOOP
          v_ref := v_refs->v_i;
          IF (v_ref->>'hard')::boolean THEN
            v_lim := @schema.limit_of(v_ref, v_overrides);
            IF v_lim IS NULL THEN
              v_refused := v_i; v_reason := 'no_budget'; EXIT;
            END IF;
            SELECT tt.used + tt.reserved INTO v_held FROM @schema.totals AS tt
              WHERE tt.instance = v_ref->>'name' AND tt.period = v_ref->>'period';
            IF coalesce(v_held, 0) + v_amount > v_lim THEN
              v_refused := v_i; v_reason := 'limit_exceeded'; EXIT;
            END IF;
          END IF;
        END LOOP;
      END IF;
      IF v_refused >= 0 THEN
        IF v_key IS NOT NULL THEN DELETE FROM @schema.idempotency AS k WHERE k.key = v_key; END IF;
        v_results := array_append(v_results, jsonb_build_object('ok', false, 'refusedAt', v_refused, 'reason', v_reason,
          'totals', @schema.current_totals(v_refs, v_overrides)));
        CONTINUE;
      END IF;
      v_overage := CASE WHEN v_force THEN nullif(v_op->'overage', 'null'::jsonb) END;
      v_used := CASE WHEN (v_op->>'reserve')::boolean THEN 0 ELSE v_amount END;
      v_outs := '{}';
      FOR v_i IN 0 .. v_n - 1 LOOP
        v_ref := v_refs->v_i;
        v_lim := @schema.limit_of(v_ref, v_overrides);
        IF v_lim IS NULL THEN
          v_outs := array_append(v_outs, 'null'::jsonb);
          CONTINUE;
        END IF;
        v_t := @schema.add_to(v_ref, v_lim, v_used, v_amount - v_used, 0, v_history);
        v_fact := @schema.fact_for(v_ref, v_t, v_op_now, v_used, v_overage);
        IF v_fact IS NOT NULL THEN v_facts := array_append(v_facts, v_fact); END IF;
        v_outs := array_append(v_outs, v_t);
      END LOOP;
      v_res := jsonb_build_object('ok', true, 'callId', v_op->>'id', 'replayed', false, 'totals', to_jsonb(v_outs));
      v_expires := NULL;
      IF (v_op->>'reserve')::boolean THEN
        v_expires := v_op_now + (v_op->>'ttl')::bigint;
        INSERT INTO @schema.reservations AS r (id, amount, refs, expires_at, state, forget_at)
          VALUES (v_op->>'id', v_amount,
            (SELECT coalesce(jsonb_agg(e ORDER BY o), '[]') FROM jsonb_array_elements(v_refs) WITH ORDINALITY AS a(e, o)
              WHERE @schema.limit_of(e, v_overrides) IS NOT NULL),
            v_expires, 'held', NULL)
          ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, refs = excluded.refs, expires_at = excluded.expires_at,
            state = 'held', spend_id = NULL, actual = NULL, expired = NULL, forget_at = NULL;
        v_res := v_res || jsonb_build_object('expiresAt', v_expires);
      END IF;
      IF v_key IS NOT NULL THEN
        -- A reservation's key lives as long as the reservation can still be settled, and then the retention.
        UPDATE @schema.idempotency AS k SET call_id = v_op->>'id', expires_at = v_expires,
          forget_at = coalesce(v_expires, v_op_now) + v_retention
          WHERE k.key = v_key;
      END IF;
      v_results := array_append(v_results, v_res);

    ELSIF v_op->>'t' = 's' THEN
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
      v_outs := '{}';
      FOR v_ref IN SELECT e FROM jsonb_array_elements(v_row.refs) WITH ORDINALITY AS a(e, o) ORDER BY o LOOP
        v_t := @schema.add_to(v_ref, coalesce(@schema.limit_of(v_ref, v_overrides), 0), v_used,
          CASE WHEN v_row.state = 'expired' THEN 0 ELSE -v_row.amount END, 0, v_history);
        v_fact := @schema.fact_for(v_ref, v_t, v_op_now, v_used, v_overage);
        IF v_fact IS NOT NULL THEN v_facts := array_append(v_facts, v_fact); END IF;
        v_outs := array_append(v_outs, v_t);
      END LOOP;
      IF (v_op->>'commit')::boolean THEN
        UPDATE @schema.reservations AS r SET state = 'committed', spend_id = v_op->>'spend', actual = v_used,
          expired = v_row.state = 'expired', forget_at = v_op_now + v_retention WHERE r.id = v_op->>'rid';
      ELSE
        UPDATE @schema.reservations AS r SET state = 'released', forget_at = v_op_now + v_retention WHERE r.id = v_op->>'rid';
      END IF;
      v_results := array_append(v_results, jsonb_build_object('status', 'applied', 'reserved', v_row.amount,
        'expired', v_row.state = 'expired', 'instances', v_row.refs, 'totals', to_jsonb(v_outs)));

    ELSIF v_op->>'t' = 'l' THEN
      -- A lease step for one slice: records what its holder spent since the last step (it sends its
      -- total, so a step sent again counts once), gives back what it held and takes the new slice.
      v_ref := p_refs->((v_op->>'ref')::int);
      v_lim := @schema.limit_of(v_ref, v_overrides);
      IF v_lim IS NULL THEN
        v_results := array_append(v_results, jsonb_build_object('slice', 0, 'totals', NULL));
        CONTINUE;
      END IF;
      v_given := 0;
      v_recorded := 0;
      SELECT l.amount, l.recorded INTO v_given, v_recorded FROM @schema.leases AS l WHERE l.id = v_op->>'id';
      v_given := coalesce(v_given, 0);
      v_recorded := coalesce(v_recorded, 0);
      v_used := greatest(0, (v_op->>'spent')::bigint - v_recorded);
      SELECT tt.used, tt.reserved INTO v_row FROM @schema.totals AS tt
        WHERE tt.instance = v_ref->>'name' AND tt.period = v_ref->>'period';
      v_free := v_lim - (coalesce(v_row.used, 0) + v_used) - (coalesce(v_row.reserved, 0) - v_given);
      v_slice := 0;
      IF (v_ref->>'hard')::boolean THEN
        -- lease-grant.ts: `want` while twice that is free; else half of what is free, at least `min`.
        v_min := (v_op->>'min')::bigint;
        v_want := greatest((v_op->>'want')::bigint, v_min);
        IF v_want > 0 AND v_free > 0 AND v_free >= v_min THEN
          v_slice := CASE WHEN v_free >= 2 * v_want THEN v_want ELSE least(v_free, greatest(v_min, v_free / 2)) END;
        END IF;
      END IF;
      v_t := @schema.add_to(v_ref, v_lim, v_used, v_slice - v_given, v_slice - v_given, v_history);
      v_fact := @schema.fact_for(v_ref, v_t, v_op_now, v_used, NULL);
      IF v_fact IS NOT NULL THEN v_facts := array_append(v_facts, v_fact); END IF;
      -- Kept while it holds; then as long as a step sent again could still arrive (the retention).
      INSERT INTO @schema.leases AS l (id, amount, recorded, ref, expires_at, forget_at)
        VALUES (v_op->>'id', v_slice, greatest(v_recorded, (v_op->>'spent')::bigint), v_ref,
          v_op_now + (v_op->>'expire')::bigint, CASE WHEN v_slice > 0 THEN NULL ELSE v_op_now + v_retention END)
        ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, recorded = excluded.recorded, ref = excluded.ref,
          expires_at = excluded.expires_at, forget_at = excluded.forget_at;
      v_results := array_append(v_results, jsonb_build_object('slice', v_slice, 'totals', v_t));

    ELSIF v_op->>'t' = 'r' THEN
      SELECT coalesce(jsonb_agg(p_refs->(x::int) ORDER BY o), '[]') INTO v_refs
        FROM jsonb_array_elements_text(v_op->'refs') WITH ORDINALITY AS a(x, o);
      v_results := array_append(v_results, @schema.current_totals(v_refs, v_overrides));

    ELSIF v_op->>'t' = 'o' THEN
      -- Reads, and reports a limit or level change no step has reported yet (once: it is then seen).
      v_outs := '{}';
      FOR v_ref IN
        SELECT p_refs->(x::int) FROM jsonb_array_elements_text(v_op->'refs') WITH ORDINALITY AS a(x, o) ORDER BY o
      LOOP
        v_lim := @schema.limit_of(v_ref, v_overrides);
        IF v_lim IS NULL THEN
          v_outs := array_append(v_outs, 'null'::jsonb);
          CONTINUE;
        END IF;
        v_t := @schema.totals_of(v_ref, v_lim);
        SELECT tt.used, tt.seen_limit, tt.seen_used INTO v_row FROM @schema.totals AS tt
          WHERE tt.instance = v_ref->>'name' AND tt.period = v_ref->>'period' AND tt.opened;
        IF FOUND AND (v_row.seen_limit IS DISTINCT FROM v_lim OR v_row.seen_used IS NOT NULL) THEN
          v_t := v_t || jsonb_build_object('limitBefore', coalesce(v_row.seen_limit, v_lim),
            'usedBefore', coalesce(v_row.seen_used, v_row.used));
          UPDATE @schema.totals AS tt SET seen_limit = v_lim, seen_used = NULL
            WHERE tt.instance = v_ref->>'name' AND tt.period = v_ref->>'period';
          v_fact := @schema.fact_for(v_ref, v_t, v_op_now, v_row.used - coalesce(v_row.seen_used, v_row.used), NULL);
          IF v_fact IS NOT NULL THEN v_facts := array_append(v_facts, v_fact); END IF;
        END IF;
        v_outs := array_append(v_outs, v_t);
      END LOOP;
      v_results := array_append(v_results, to_jsonb(v_outs));
    ELSE
      RAISE EXCEPTION 'spendguard: unknown batch operation %', v_op->>'t';
    END IF;
  END LOOP;

  IF cardinality(v_facts) > 0 THEN
    -- Held until commit, so that the feed's ids are in commit order: a reader that saw a fact never
    -- misses an earlier one that commits later.
    PERFORM pg_advisory_xact_lock(@lock);
    INSERT INTO @schema.feed (fact, forget_at)
      SELECT f, v_now + v_event_retention FROM unnest(v_facts) WITH ORDINALITY AS u(f, o) ORDER BY o;
  END IF;
  -- Last: a fence written for this id by a client that gave up on the batch makes it fail here, whole.
  INSERT INTO @schema.calls (id, results, forget_at) VALUES (p_id, to_jsonb(v_results), v_now + v_retention);
  RETURN jsonb_build_object('results', to_jsonb(v_results), 'swept', v_swept);
END $$;

-- Writes a run-time limit override if the limits are still at `p_expected` (compare-and-set).
CREATE OR REPLACE FUNCTION @schema.set_limit(p_name text, p_amount bigint, p_expected bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_version bigint;
BEGIN
  UPDATE @schema.meta AS m SET value = m.value + 1 WHERE m.key = 'limits_version' AND m.value = p_expected
    RETURNING m.value INTO v_version;
  IF NOT FOUND THEN
    SELECT m.value INTO v_version FROM @schema.meta AS m WHERE m.key = 'limits_version';
    RETURN jsonb_build_object('ok', false, 'version', v_version);
  END IF;
  INSERT INTO @schema.limits AS l (name, amount) VALUES (p_name, p_amount)
    ON CONFLICT (name) DO UPDATE SET amount = excluded.amount;
  RETURN jsonb_build_object('ok', true, 'version', v_version);
END $$;
