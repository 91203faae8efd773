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
