-- Auto-invest (issue 22): model portfolios, a wallet's auto-invest terms,
-- and one run per deposit.
--
-- managed_models: a model portfolio's versions, each effective from a date;
-- body is fund/managed.Model as JSON, validated (weights sum to exactly
-- 100) before it is stored.
CREATE TABLE managed_models (
    id         text        NOT NULL,
    version    integer     NOT NULL CHECK (version >= 1),
    profile    text        NOT NULL CHECK (profile IN ('conservative', 'moderate', 'aggressive')),
    effective  date        NOT NULL,
    body       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, version)
);

-- A wallet invests its deposits into a model, in a folio.
CREATE TABLE autoinvest_terms (
    wallet_id text        PRIMARY KEY REFERENCES wallets (id),
    model_id  text        NOT NULL,
    folio_no  text        NOT NULL,
    enabled   boolean     NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One run per deposit (the payment id): exactly once. 'debited': the
-- wallet paid for the split's purchases (wallet transaction kind 'invest',
-- ref the payment id) and the order requests are fixed in requests (their
-- exact bodies, so a run finished after a crash places the same requests:
-- the ledger sees duplicates, never a second order); 'placed': the orders
-- are placed and paid and autoinvest.orders.placed is on the outbox.
CREATE TABLE autoinvest_runs (
    payment_id    text          PRIMARY KEY REFERENCES payments (id),
    wallet_id     text          NOT NULL REFERENCES wallets (id),
    model_id      text          NOT NULL,
    model_version integer       NOT NULL,
    invested      numeric(18,2) NOT NULL,
    leftover      numeric(18,2) NOT NULL,
    split         jsonb         NOT NULL,  -- fund/managed.Split: legs and leftovers with reasons
    requests      jsonb         NOT NULL,  -- the order requests' bodies, in order
    status        text          NOT NULL CHECK (status IN ('debited', 'placed')),
    created_at    timestamptz   NOT NULL DEFAULT now(),
    placed_at     timestamptz
);
CREATE INDEX autoinvest_runs_open ON autoinvest_runs (created_at) WHERE status = 'debited';
