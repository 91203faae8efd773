-- A switch whose switch-in leg ends without an allotment (rejected: its
-- amount buys less than one unit step) pays its switch-out's money out to
-- the investor: a 'switch_payout' ledger transaction on the switch-in leg
-- (order_id), moving the clearing account switch:<id> to payout:<folio>, so
-- the clearing account is zero after both legs, always. It moves no units
-- (units 0); scheme, NAV date and NAV are the switch-out's; the leg itself
-- stays rejected (orders.ledger_tx_id is only set by an allotment).
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('purchase', 'redemption', 'switch_out', 'switch_in', 'switch_payout'));
