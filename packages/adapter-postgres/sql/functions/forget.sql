-- Retention: what each batch forgets before its calls (at most a bounded number of rows, so that no
-- batch pays for a backlog at once). `@schema` as in limits.sql.

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
