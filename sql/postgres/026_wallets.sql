-- Wallets (issue 22): money an investor keeps with the platform for managed
-- investing. A deposit arrives as a captured payment whose notes.order_id is
-- 'wallet:<wallet id>' (the webhook stores it unmatched: no order has that
-- id); the wallet service credits it exactly once (wallet_transactions is
-- unique on (kind, ref), ref the payment id), or records a payment break
-- (wallet_unknown, wallet_closed) so the money is never lost.
--
-- Double entry, in its own journal beside the order ledger (whose
-- transactions are each an order leg's). Each transaction balances in each
-- asset (checked at commit). Accounts (INR):
--   wallet_cash:<gateway>    money received from the gateway, held for wallets until invested
--                            (the order ledger credits gateway:<gateway> when a purchase uses it)
--   wallet:<wallet id>       what the platform owes the investor (credit on a deposit)
--   payout:wallet:<id>       a withdrawal payable to the sealed bank account
-- wallets.balance is −(balance of wallet:<id>), kept in the same transaction;
-- the row is the wallet's lock, and its CHECK makes a negative balance
-- impossible whatever the code does.
CREATE TABLE wallets (
    id          text          PRIMARY KEY,
    investor_id text          NOT NULL REFERENCES investors (id),
    status      text          NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    balance     numeric(18,2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at  timestamptz   NOT NULL DEFAULT now(),
    updated_at  timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX wallets_investor ON wallets (investor_id);

CREATE TABLE wallet_transactions (
    id        bigserial     PRIMARY KEY,
    wallet_id text          NOT NULL REFERENCES wallets (id),
    kind      text          NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'invest', 'refund', 'reversal')),
    ref       text          NOT NULL,              -- deposit, invest, reversal (the gateway refunded the deposit):
                                                   -- the payment id; withdrawal: the request id;
                                                   -- refund (an auto-invest order refused): the order request id
    amount    numeric(18,2) NOT NULL CHECK (amount > 0),
    posted_at timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (kind, ref)
);
CREATE INDEX wallet_transactions_wallet ON wallet_transactions (wallet_id, id);

CREATE TABLE wallet_postings (
    tx_id   bigint        NOT NULL REFERENCES wallet_transactions (id),
    seq     smallint      NOT NULL,
    account text          NOT NULL,
    asset   text          NOT NULL,
    amount  numeric(24,9) NOT NULL CHECK (amount <> 0), -- signed: + debit, − credit
    PRIMARY KEY (tx_id, seq)
);
CREATE INDEX wallet_postings_account ON wallet_postings (account, asset);

CREATE FUNCTION wallet_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT asset, sum(amount) AS total INTO bad
    FROM wallet_postings WHERE tx_id = NEW.tx_id
    GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'wallet transaction % does not balance in %: sum %', NEW.tx_id, bad.asset, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER wallet_postings_balanced AFTER INSERT ON wallet_postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.seq = 0) EXECUTE FUNCTION wallet_check_balanced();

-- Deposits waiting for the wallet service: captured, unmatched, naming a wallet.
CREATE INDEX payments_wallet_unmatched ON payments (id)
    WHERE match_status = 'unmatched' AND status = 'captured' AND notes_order_id LIKE 'wallet:%';
