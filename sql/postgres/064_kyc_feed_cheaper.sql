-- A KRA feed batch applied with fewer CPU-seconds (issue 23, session 35).
--
-- 1. The gate's lookup matches a batch's PAN fingerprints to investors by
--    investor_profiles_pan_fp and needs only the investor, the tax status
--    and the majority flag: with them in the index, the match is an
--    index-only scan (the profiles' pages are all-visible once vacuumed:
--    the KYC gate never writes them) instead of one random heap fetch per
--    PAN. Same name, same uniqueness: the onboarding service's "PAN already
--    registered" (23505 on investor_profiles_pan_fp) is unchanged.
CREATE UNIQUE INDEX investor_profiles_pan_fp_covering ON investor_profiles (pan_fp)
    INCLUDE (investor_id, tax_status, majority_flagged_at) WHERE pan_fp <> '';
DROP INDEX investor_profiles_pan_fp;
ALTER INDEX investor_profiles_pan_fp_covering RENAME TO investor_profiles_pan_fp;

-- 2. kyc_status_status served no query (the status report groups every
--    row) and cost an index entry per status written.
DROP INDEX kyc_status_status;

-- 3. A history row's investor is checked once per statement, set-based,
--    instead of by the foreign key's per-row trigger (an SPI query with a
--    row lock on investors, about half the cost of the gate's history
--    INSERT). The promise is the same: every history row names an
--    investor that exists (refused with 23503 otherwise). Deleting that
--    investor stays impossible: the gate writes the investor's kyc_status
--    row, whose foreign key to investors stays, in the same transaction as
--    its history rows, and neither is ever deleted (history is append-only).
ALTER TABLE kyc_status_history DROP CONSTRAINT kyc_status_history_investor_id_fkey;

CREATE FUNCTION kyc_status_history_investor_exists() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    -- One index lookup per row, whatever the planner estimates of the
    -- transition table (LATERAL ... OFFSET 0): a hash join would read all
    -- of investors for every batch.
    SELECT n.investor_id INTO missing FROM new_rows n
    LEFT JOIN LATERAL (SELECT true AS found FROM investors i WHERE i.id = n.investor_id OFFSET 0) i ON true
    WHERE i.found IS NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert on table "kyc_status_history": investor % is not present in table "investors"', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'kyc_status_history', COLUMN = 'investor_id';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER kyc_status_history_investor_exists AFTER INSERT ON kyc_status_history
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kyc_status_history_investor_exists();
