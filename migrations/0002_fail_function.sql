-- Aborts the current statement with a machine-readable reason. Single-statement writes (an order
-- and its stock decrements in one CTE chain) call it when a business rule fails, so everything the
-- statement did rolls back and the caller learns why from the error (message = code, detail = JSON).
CREATE OR REPLACE FUNCTION tally_fail(code text, detail jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = code, DETAIL = detail::text;
END
$$;
