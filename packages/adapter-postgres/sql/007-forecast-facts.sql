-- Schema 3: a forecast claim's fact. The batch passes a step's note for the feed as `overage`: an
-- overage { reservationId, reserved, actual } (a commit above its reservation, or a replayed offline
-- one), or { "forecast": { "at": the claiming guard's now } } from a forecast claim, which the fact keeps
-- as it is, so that the forecast alert is in the feed exactly once, written by the step that claimed it.
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
