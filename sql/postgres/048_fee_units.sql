-- Fees charged by redeeming units (issue 22; it keeps the wallet
-- transaction kinds of 043_pool_distributions and 047_wallet_withdrawal_parking). A
-- wallet whose terms say charge_from 'units' pays an invoice by redeeming units of its
-- auto-invest folio FIFO (fund/managed.PlanFeeRedemption) through the
-- ledger's redemption path, so lots and exit loads apply; each redemption's
-- payout comes into the wallet (wallet transaction kind 'fee_redemption',
-- ref the order id, once: ledger_payout:<folio> → wallet:<id>) and the
-- invoice is then paid from the wallet as any other.
ALTER TABLE fee_terms DROP CONSTRAINT fee_terms_charge_from_check;
ALTER TABLE fee_terms ADD CONSTRAINT fee_terms_charge_from_check CHECK (charge_from IN ('wallet', 'units'));

-- An invoice's redemptions, fixed (status 'proposed', with the request
-- bodies) before any is placed, then 'placed': a crash between the two is
-- finished with the same requests (order ids FEE-…-R<n>).
CREATE TABLE fee_redemptions (
    order_id    text          PRIMARY KEY,
    invoice_id  text          NOT NULL REFERENCES fee_invoices (id),
    wallet_id   text          NOT NULL REFERENCES wallets (id),
    folio_no    text          NOT NULL,
    scheme_code text          NOT NULL,
    amount      numeric(18,2) NOT NULL CHECK (amount > 0),
    request     text          NOT NULL,
    status      text          NOT NULL CHECK (status IN ('proposed', 'placed')),
    created_at  timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX fee_redemptions_invoice ON fee_redemptions (invoice_id);
CREATE INDEX fee_redemptions_proposed ON fee_redemptions (created_at) WHERE status = 'proposed';

ALTER TABLE wallet_transactions DROP CONSTRAINT wallet_transactions_kind_check;
ALTER TABLE wallet_transactions ADD CONSTRAINT wallet_transactions_kind_check
    CHECK (kind IN ('deposit', 'withdrawal', 'invest', 'refund', 'reversal', 'switch_payout', 'fee',
                    'pool_contribution', 'pool_withdrawal', 'pool_priced', 'pool_distribution',
                    'withdrawal_release', 'withdrawal_cancel', 'fee_redemption'));
