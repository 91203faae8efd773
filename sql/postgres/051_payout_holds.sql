-- Payout holds (issue 23): money owed to an investor that is not an order
-- leg, held while their default bank account is not verified (the ledger
-- restriction of source bank holds redemptions; these are the rest):
--   payout_account: the balance of the folio's payout:<folio> account
--     (IDCW and switch payouts, redemption proceeds waiting);
--   refund: a captured payment whose order ended unallotted (an open
--     refund_due alert; subject: the payment id).
-- The bank verification pass raises a hold for each and releases it when
-- the restriction is lifted (bank_verified) or the money is no longer due
-- (settled: the balance is nil or the refund resolved). One open hold per
-- subject; released rows stay as the record.
CREATE TABLE payout_holds (
    id             bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    investor_id    text          NOT NULL REFERENCES investors (id),
    kind           text          NOT NULL CHECK (kind IN ('payout_account', 'refund')),
    subject        text          NOT NULL,
    amount         numeric(24,9) NOT NULL,   -- owed when the hold was raised
    reason         text          NOT NULL,   -- the bank restriction's: bank_unverified, bank_verification_failed, no_bank_account
    raised_at      timestamptz   NOT NULL,
    released_at    timestamptz,
    release_reason text          CHECK (release_reason IN ('bank_verified', 'settled')),
    released_by    text,
    CHECK ((released_at IS NULL) = (release_reason IS NULL))
);
CREATE UNIQUE INDEX payout_holds_open ON payout_holds (kind, subject) WHERE released_at IS NULL;
CREATE INDEX payout_holds_investor ON payout_holds (investor_id, id);
