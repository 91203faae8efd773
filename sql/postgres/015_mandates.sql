-- Mandates: an investor's standing permission to debit a bank account
-- (UPI AutoPay, e-NACH / e-mandate), as the payment gateway reports it. For
-- Razorpay a mandate is a recurring token (token_…): its state comes from the
-- token.confirmed / token.rejected / token.paused / token.cancelled webhooks
-- (through the same inbox and HMAC check as payments), and debits against it
-- are recurring payments (POST /v1/payments/create/recurring).
--
-- status moves forward only, by the gateway's event time: an event older
-- than last_event_at changes nothing; rejected and cancelled are final (a
-- late confirmed never revives them). created → confirmed ⇄ paused →
-- cancelled; created → rejected.
CREATE TABLE mandates (
    id               text          PRIMARY KEY,        -- gateway token id (token_…)
    gateway          text          NOT NULL,           -- razorpay
    investor_id      text          REFERENCES investors (id), -- NULL until linked to an investor
    customer_id      text          NOT NULL DEFAULT '', -- gateway customer (cust_…)
    method           text          NOT NULL DEFAULT '', -- emandate, upi, nach
    status           text          NOT NULL CHECK (status IN ('created', 'confirmed', 'paused', 'rejected', 'cancelled')),
    max_amount       numeric(18,2) CHECK (max_amount > 0), -- per-debit limit, rupees (the gateway sends paise)
    starts_on        date,                              -- first day a debit may be presented
    expires_on       date,                              -- last day (NULL: until cancelled)
    bank_name        text          NOT NULL DEFAULT '',
    bank_account_enc bytea,                             -- account number, sealed (internal/pii), owner = mandate id
    bank_account_mask text         NOT NULL DEFAULT '', -- e.g. XXXXXX1234, for people
    failure_reason   text          NOT NULL DEFAULT '', -- rejected/cancelled: the gateway's reason
    last_event_id    text          NOT NULL DEFAULT '',
    last_event_at    timestamptz,                       -- the gateway's time of the event that set status
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX mandates_investor ON mandates (investor_id);

-- Why a payment failed, as the gateway said it (payment.failed:
-- error_code, error_description): a failed SIP debit reports it.
ALTER TABLE payments
    ADD COLUMN error_code        text NOT NULL DEFAULT '',
    ADD COLUMN error_description text NOT NULL DEFAULT '',
    ADD COLUMN token_id          text NOT NULL DEFAULT '';  -- the mandate a recurring payment debited
