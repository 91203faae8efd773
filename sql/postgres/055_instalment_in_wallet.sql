-- Issue 22: a SIP instalment into a wallet whose auto-invest run invested
-- nothing ends 'in_wallet': the debit was captured and credited to the
-- wallet, and all of it is still there (every purchase refused at
-- placement or ended by the ledger and refunded to the wallet, or the run
-- had nothing to buy: every share below its scheme's minimum, or the
-- balance withdrawn first). Terminal, and a successful debit: it resets
-- the consecutive failures. No existing status fits: 'allotted' says
-- units were bought; 'failed' counts towards cancelling the SIP (and tells
-- the investor a debit failed); 'dropped' is a plan cancelled before the
-- debit. The reason says why (orders_refunded, or the run's leftover
-- reason such as below_minimum).
ALTER TABLE plan_instalments DROP CONSTRAINT plan_instalments_status_check;
ALTER TABLE plan_instalments ADD CONSTRAINT plan_instalments_status_check
    CHECK (status IN ('due', 'skipped', 'dropped', 'presented', 'paid', 'allotted', 'failed', 'in_wallet'));
