-- A wallet withdrawal held by a restriction is parked, not refused
-- (issue 22): the money leaves the wallet's balance into
-- withdrawal_held:wallet:<id> (wallet transaction kind 'withdrawal', as a
-- direct one, so a parked withdrawal still counts as money out), then
-- either goes to the sealed bank account when the restriction lifts (kind
-- 'withdrawal_release': held → payout:wallet:<id>, the balance unchanged)
-- or back into the wallet when cancelled (kind 'withdrawal_cancel': held →
-- wallet:<id>). All three have the request id as ref.
--
-- status: 'pending' (parked), 'paid' (released, or paid at once),
-- 'cancelled'. hold_source: the restriction that parked it.
CREATE TABLE wallet_withdrawals (
    request_id  text          PRIMARY KEY,
    wallet_id   text          NOT NULL REFERENCES wallets (id),
    amount      numeric(18,2) NOT NULL CHECK (amount > 0),
    status      text          NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled')),
    hold_source text          NOT NULL DEFAULT '',
    created_at  timestamptz   NOT NULL DEFAULT now(),
    decided_at  timestamptz
);
CREATE INDEX wallet_withdrawals_pending ON wallet_withdrawals (created_at) WHERE status = 'pending';

ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_kind_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_kind_check
    CHECK (kind IN ('deposit', 'withdrawal', 'invest', 'refund', 'reversal', 'switch_payout', 'fee',
                    'pool_contribution', 'pool_withdrawal', 'pool_priced', 'pool_distribution',
                    'withdrawal_release', 'withdrawal_cancel'));
