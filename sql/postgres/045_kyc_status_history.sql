-- KYC status history (issue 23):
-- every change of an investor's KRA status or PAN–Aadhaar link (kyc_status)
-- as one append-only row, with the feed line it came from. It is the audit
-- trail of those columns: the gate writes no audit_log row per investor for
-- them, but one per batch carrying a digest of the batch's history rows, so
-- the hash chain still vouches for them. Every other investor change is
-- audited as before.
CREATE TABLE kyc_status_history (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    investor_id      text        NOT NULL REFERENCES investors (id),
    pan_fp           text        NOT NULL,        -- the PAN the status is for (a minor's: the guardian's)
    change_seq       integer,                     -- the version and investors.changed event when the effective status changed; NULL: a detail only
    status           text        NOT NULL,
    kra              text        NOT NULL,
    kra_code         text        NOT NULL,
    status_at        timestamptz,
    remarks          text        NOT NULL,
    pan_inoperative  boolean     NOT NULL,
    aadhaar_at       timestamptz,
    effective_status text        NOT NULL,        -- on_hold while the PAN is inoperative, else status
    source_file      text        NOT NULL,
    source_sha256    text        NOT NULL,
    source_line      integer     NOT NULL,
    recorded_at      timestamptz NOT NULL,
    recorded_by      text        NOT NULL
);
CREATE INDEX kyc_status_history_investor ON kyc_status_history (investor_id, id);

CREATE FUNCTION kyc_status_history_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kyc_status_history is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER kyc_status_history_append_only BEFORE UPDATE OR DELETE ON kyc_status_history
    FOR EACH ROW EXECUTE FUNCTION kyc_status_history_refuse();
CREATE TRIGGER kyc_status_history_no_truncate BEFORE TRUNCATE ON kyc_status_history
    FOR EACH STATEMENT EXECUTE FUNCTION kyc_status_history_refuse();
