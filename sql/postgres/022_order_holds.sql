-- Holds: the one mechanism that keeps an order leg from being allotted
-- until a person or a feed says it may go on. Fraud rules, AML screening,
-- the KYC gate and bank verification all use it; the ledger enforces it
-- wherever it allots (ledger/holds.go).
--
-- order_holds: one row per hold of one leg by one source; at most one open
-- hold per (leg, source). reason is the public code the investor's API
-- shows (fraud/aml: under_review, never the rule); detail and case_ref are
-- for operations only. A hold is closed once, released or rejected.
CREATE TABLE order_holds (
    id          bigserial   PRIMARY KEY,
    order_id    text        NOT NULL REFERENCES orders (id),
    investor_id text        NOT NULL REFERENCES investors (id),
    source      text        NOT NULL CHECK (source IN ('fraud', 'aml', 'kyc', 'bank')),
    reason      text        NOT NULL CHECK (reason <> ''),
    detail      text        NOT NULL DEFAULT '',
    case_ref    text        NOT NULL DEFAULT '',
    raised_by   text        NOT NULL CHECK (raised_by <> ''),
    raised_at   timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz,
    closed_by   text,
    resolution  text        CHECK (resolution IN ('released', 'rejected')),
    note        text        NOT NULL DEFAULT '',
    CHECK ((closed_at IS NULL) = (resolution IS NULL)),
    CHECK ((closed_at IS NULL) = (closed_by IS NULL))
);
CREATE UNIQUE INDEX order_holds_open ON order_holds (order_id, source) WHERE closed_at IS NULL;
CREATE INDEX order_holds_investor ON order_holds (investor_id, raised_at);
CREATE INDEX order_holds_open_source ON order_holds (source, raised_at) WHERE closed_at IS NULL;

-- investor_restrictions: what an investor may not do now, per source (the
-- KYC status, an AML hit). The ledger turns a restriction into a hold on
-- each leg it blocks when it meets the leg: purchases and SIPs by
-- blocks_purchase, redemptions by blocks_redemption, switch legs by either
-- (a switch never half-executes). Lifting it releases that source's holds.
CREATE TABLE investor_restrictions (
    investor_id       text        NOT NULL REFERENCES investors (id),
    source            text        NOT NULL CHECK (source IN ('fraud', 'aml', 'kyc')),
    reason            text        NOT NULL CHECK (reason <> ''),
    detail            text        NOT NULL DEFAULT '',
    blocks_purchase   boolean     NOT NULL,
    blocks_redemption boolean     NOT NULL,
    since             timestamptz NOT NULL DEFAULT now(),
    updated_by        text        NOT NULL CHECK (updated_by <> ''),
    PRIMARY KEY (investor_id, source),
    CHECK (blocks_purchase OR blocks_redemption)
);
