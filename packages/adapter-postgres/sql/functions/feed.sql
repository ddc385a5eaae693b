-- The durable feed's facts: whether a step moved an instance across one of its marks, and the fact it
-- writes then (the batch appends them, see batch.sql). `@schema` as in limits.sql.

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

-- The feed fact for a step's totals `t` on `ref`, or null when the step caused no event there. The batch
-- passes a step's note for the feed as `overage`: an overage { reservationId, reserved, actual } (a commit
-- above its reservation, or a replayed offline one), or { "forecast": { "at": the claiming guard's now } }
-- from a forecast claim, which the fact keeps as it is (since schema 3), so that the forecast alert is in
-- the feed exactly once, written by the step that claimed it.
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
  IF overage ? 'forecast' THEN
    fact := fact || jsonb_build_object('forecast', overage->'forecast');
  ELSIF overage IS NOT NULL THEN
    fact := fact || jsonb_build_object('overage', overage);
  END IF;
  RETURN fact;
END $body$;
