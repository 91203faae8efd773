-- The change_seq of an investor's latest KYC change (issue 23): a change
-- of the effective KYC status is an investors.changed event and a
-- kyc_status_history row, but no longer a version of the record (it did
-- not change) nor an update of investor_profiles. The investor's next
-- change_seq, of either kind, follows the later of this and the profile's
-- (the record's latest version). NULL: no KYC change numbered yet.
ALTER TABLE kyc_status ADD COLUMN change_seq integer CHECK (change_seq > 0);

-- Until now each numbered KYC change also advanced the profile, so the
-- history's latest number is at most the profile's: carried for clarity.
UPDATE kyc_status k SET change_seq = h.seq
FROM (SELECT investor_id, max(change_seq) AS seq FROM kyc_status_history GROUP BY investor_id) h
WHERE h.investor_id = k.investor_id AND h.seq IS NOT NULL;
