-- Issue 22, r34 review H4: a valuation's net flows. A crystallisation
-- (the quarter end's, the exit's) compares the valuation with Σ deposits −
-- withdrawals (parked ones too, a cancelled one back in) − reversals; it
-- summed every flow posted up to the billing run, so a flow between the
-- valuation (the daily run at 10:00) and the bill (the next morning) moved
-- the gain by its amount. net_flows is that sum as the valuation's own
-- statement saw it, in the same snapshot as the cash it read, and the bill
-- counts only it. NULL on rows written before: the bill sums the flows
-- posted at billing, as before.
ALTER TABLE fee_valuations ADD COLUMN net_flows numeric(18,2);
