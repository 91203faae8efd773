-- Issue 22: the pool performance fee crystallised on exit. A withdrawal
-- priced at a NAV above the pool's per-unit high-water mark (and the
-- hurdle) pays perf % of the gain of its own units, with GST 18 %, from
-- its proceeds, in the pricing's own entry (pool_priced: Dr pool:<pool>
-- the units' value, Cr wallet:<w> the rest, Cr fee_income:managed the
-- fee, Cr tax:gst). One row a withdrawal request, the invoice
-- PFEE-<pool>-EXIT-<request>: the request is priced once, so is its fee.
-- The high-water mark is not changed by an exit (pool/exitfee.go).
CREATE TABLE pool_exit_fees (
    request_id text          PRIMARY KEY REFERENCES pool_requests (id),
    invoice_id text          NOT NULL UNIQUE,
    pool_id    text          NOT NULL REFERENCES pools (id),
    wallet_id  text          NOT NULL REFERENCES wallets (id),
    nav_date   date          NOT NULL,
    units      numeric(24,3) NOT NULL CHECK (units > 0),
    nav        numeric(18,4) NOT NULL CHECK (nav > 0),
    hwm_nav    numeric(18,4) NOT NULL CHECK (hwm_nav > 0),
    gross      numeric(18,2) NOT NULL CHECK (gross >= 0),          -- units × NAV, the withdrawal's amount
    perf_fee   numeric(18,2) NOT NULL CHECK (perf_fee > 0),
    gst        numeric(18,2) NOT NULL CHECK (gst >= 0),
    total      numeric(18,2) NOT NULL CHECK (total = perf_fee + gst AND total <= gross),
    body       jsonb         NOT NULL,                             -- the crystallisation (mark, threshold, gain)
    created_at timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX pool_exit_fees_pool ON pool_exit_fees (pool_id, nav_date);
