-- A managed wallet's portfolio against its model (issue 22): the
-- risk assessment that picks the model, and the rebalances that keep the
-- folio on it.
--
-- risk_questionnaires: the questionnaire's versions, each effective from a
-- date; body is fund/managed.Questionnaire as JSON, validated (every score
-- has exactly one profile and a model) before it is stored.
CREATE TABLE risk_questionnaires (
    id         text        NOT NULL,
    version    integer     NOT NULL CHECK (version >= 1),
    effective  date        NOT NULL,
    body       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, version)
);

-- An investor's assessments, append-only: the answers as given with their
-- scores (the evidence), the questionnaire version that scored them, the
-- profile and model. The latest is the investor's profile from assessed_at.
CREATE TABLE risk_assessments (
    id                    bigserial   PRIMARY KEY,
    investor_id           text        NOT NULL REFERENCES investors (id),
    questionnaire_id      text        NOT NULL,
    questionnaire_version integer     NOT NULL,
    answers               jsonb       NOT NULL,
    score                 integer     NOT NULL,
    profile               text        NOT NULL CHECK (profile IN ('conservative', 'moderate', 'aggressive')),
    model_id              text        NOT NULL,
    assessed_at           timestamptz NOT NULL,
    FOREIGN KEY (questionnaire_id, questionnaire_version) REFERENCES risk_questionnaires (id, version)
);
CREATE INDEX risk_assessments_investor ON risk_assessments (investor_id, assessed_at DESC, id DESC);

-- Rebalancing.
--
-- A run is one rebalance of a wallet's folio back to its model: the plan
-- (fund/managed.Plan: drift, trades, the switches they pair into, the
-- estimated exit load and tax) and the switch requests' exact bodies, fixed
-- before anything is placed, so a run finished after a crash places the same
-- requests (the ledger sees duplicates, never a second order).
-- 'proposed': fixed, rebalance.proposed on the outbox; 'placed': the
-- switches are placed and rebalance.executed is on the outbox.
CREATE TABLE rebalance_runs (
    id            text        PRIMARY KEY,          -- the caller's key: RB-<wallet>-<yyyymmdd> by default
    wallet_id     text        NOT NULL REFERENCES wallets (id),
    folio_no      text        NOT NULL,
    model_id      text        NOT NULL,
    model_version integer     NOT NULL,
    tax_aware     boolean     NOT NULL,
    plan          jsonb       NOT NULL,
    requests      jsonb       NOT NULL,             -- the switch requests' bodies, in order
    status        text        NOT NULL CHECK (status IN ('proposed', 'placed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    placed_at     timestamptz
);
CREATE INDEX rebalance_runs_open ON rebalance_runs (created_at) WHERE status = 'proposed';
CREATE INDEX rebalance_runs_wallet ON rebalance_runs (wallet_id, created_at);

-- Each switch of a run (its request id is the ledger's switch id).
CREATE TABLE rebalance_switches (
    switch_id   text          PRIMARY KEY,
    run_id      text          NOT NULL REFERENCES rebalance_runs (id),
    wallet_id   text          NOT NULL REFERENCES wallets (id),
    from_scheme text          NOT NULL,
    to_scheme   text          NOT NULL,
    amount      numeric(18,2) NOT NULL CHECK (amount > 0)
);
CREATE INDEX rebalance_switches_run ON rebalance_switches (run_id);

-- A switch-in that ends without an allotment has its switch-out's money
-- paid out by the ledger (a switch_payout transaction to payout:<folio>).
-- For a rebalance that money comes home to the wallet: wallet transaction
-- kind 'switch_payout', ref the switch id (once), debiting
-- ledger_payout:<folio> (the wallet's claim on the ledger's payout account)
-- and crediting wallet:<id>.
ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_kind_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_kind_check
    CHECK (kind IN ('deposit', 'withdrawal', 'invest', 'refund', 'reversal', 'switch_payout'));
