-- The application runs as a role that owns no tables, and until
-- PostgreSQL 17 (MAINTAIN) only a table's owner may ANALYZE it: as anyone
-- else ANALYZE is skipped with a warning. folio-recon COPYs millions of
-- rows and must refresh their statistics inside its transaction, or the
-- planner picks nested loops. ANALYZE changes no data, so any caller may
-- have it done, on tables of this schema, through this function.
CREATE FUNCTION app_analyze(t regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF (SELECT relnamespace FROM pg_class WHERE oid = t) <> 'public'::regnamespace THEN
        RAISE EXCEPTION 'app_analyze: % is not a table of schema public', t USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('ANALYZE %s', t);
END $$;
