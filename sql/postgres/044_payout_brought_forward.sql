-- A negative gross carried into the next month (issue 18): a payee's
-- statement records what the previous month carried (commission_payouts.
-- carried, zero or negative) and set off against this month's earnings
-- inside gross. A month is paid only after the month before it, when that
-- month has a payout, so every carry is brought forward once.
ALTER TABLE commission_payouts ADD COLUMN brought_forward numeric(18,2) NOT NULL DEFAULT 0 CHECK (brought_forward <= 0);
ALTER TABLE commission_payouts ADD CONSTRAINT commission_payouts_carried_check CHECK (carried <= 0);
