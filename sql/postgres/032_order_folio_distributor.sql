-- The distributor an order or a folio came through (issue 18): the ARN and
-- the employee's EUIN, NULL for a direct investor. An order's come from its
-- request; a folio's is its distributor of record, the one its trail accrues
-- to. (Pre-assigned number 029: renumber at merge.)
ALTER TABLE orders ADD COLUMN arn text, ADD COLUMN euin text;
ALTER TABLE folios ADD COLUMN arn text, ADD COLUMN euin text;
