-- The application connects as a role that owns no tables (see
-- internal/migrate GrantApp): on audit_log it may only INSERT and SELECT, on
-- audit_head only SELECT. The chain's triggers lock and move audit_head,
-- so they run with the rights of their owner (the schema owner who ran
-- this migration), with a fixed search_path so a caller cannot slip in
-- objects of its own.
ALTER FUNCTION audit_chain() SECURITY DEFINER SET search_path = pg_catalog, public;
ALTER FUNCTION audit_head_advance() SECURITY DEFINER SET search_path = pg_catalog, public;
