-- Review r36 M1(b): the daily valuation summed each wallet's whole history
-- of flows, and for every pool-kind row ran a subquery on wallet_postings
-- (about 2x the valuation's cost). flow is the transaction's net flow as
-- the valuation counts it (wallet/pgstore netFlowsSum), written by Post
-- when the entry is posted: + money in from outside, − money out. NULL for
-- kinds that are not flows, and on rows written without it (the sum then
-- falls back to the same rule on the row). Backfilled with exactly that
-- rule: deposit, withdrawal_cancel: +amount; withdrawal, reversal:
-- −amount; pool kinds: − their postings to the wallet's INR account.
ALTER TABLE wallet_transactions ADD COLUMN flow numeric(24,9);

UPDATE wallet_transactions t SET flow = CASE
        WHEN t.kind IN ('deposit', 'withdrawal_cancel') THEN t.amount
        WHEN t.kind IN ('withdrawal', 'reversal') THEN -t.amount
        ELSE -coalesce((SELECT sum(p.amount) FROM wallet_postings p
            WHERE p.tx_id = t.id AND p.account = 'wallet:' || t.wallet_id AND p.asset = 'INR'), 0) END
    WHERE t.wallet_id IS NOT NULL
      AND t.kind IN ('deposit', 'withdrawal', 'reversal', 'withdrawal_cancel', 'pool_contribution', 'pool_priced', 'pool_distribution');
