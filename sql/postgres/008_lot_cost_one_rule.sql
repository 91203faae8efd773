-- The cost basis of what is left of a lot has one rule (fund.LotCost): the
-- amount paid for the lot × units left / units bought, to the paisa, half up
-- (Postgres round() on numeric rounds half away from zero: the same for
-- these positive values), computed from the lot as bought. It used to be cut
-- pro rata step by step on each redemption, which drifted a paisa from what
-- the API, statements and exports showed. Bring the stored values to the
-- rule: each open or emptied lot's cost, then each holding's invested amount
-- as the sum over its open lots.
UPDATE holding_lots l
SET cost = CASE WHEN l.units_remaining = l.units THEN t.amount
                WHEN l.units_remaining = 0 THEN 0
                ELSE round(t.amount * l.units_remaining / l.units, 2) END
FROM ledger_transactions t
WHERE t.id = l.ledger_tx_id
  AND l.cost IS DISTINCT FROM CASE WHEN l.units_remaining = l.units THEN t.amount
                                   WHEN l.units_remaining = 0 THEN 0
                                   ELSE round(t.amount * l.units_remaining / l.units, 2) END;

UPDATE holdings h
SET invested = x.cost
FROM (SELECT folio_no, scheme_code, coalesce(sum(cost) FILTER (WHERE units_remaining > 0), 0) AS cost
      FROM holding_lots GROUP BY folio_no, scheme_code) x
WHERE x.folio_no = h.folio_no AND x.scheme_code = h.scheme_code AND h.invested <> x.cost;
