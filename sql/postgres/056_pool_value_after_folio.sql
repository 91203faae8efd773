-- A pool's value at its NAV, after the day's requests and batch (issue
-- 22): holdings at the day's scheme NAVs + money in purchases at cost +
-- cash, and the units then. A distribution on that record date prices
-- its reinvestment from these, (value_after − amount) ÷ units_after: the
-- pool's value as of the record date, whatever is allotted, refunded or
-- swept afterwards (those only move money between holdings at cost,
-- purchases and cash). NULL: a row computed before this migration; the
-- service refuses a distribution on it (distribute after the next NAV).
ALTER TABLE pool_navs ADD COLUMN value_after numeric(18,2) CHECK (value_after >= 0);
ALTER TABLE pool_navs ADD COLUMN units_after numeric(24,3) CHECK (units_after >= 0);
ALTER TABLE pool_navs ADD CONSTRAINT pool_navs_after_both CHECK ((value_after IS NULL) = (units_after IS NULL));

-- A pool's NAV values its whole folio: no two pools share one (a wallet's
-- auto-invest folio is refused to a pool, and a pool's to auto-invest
-- terms, by the service under the folio's advisory lock). Fails if two
-- pools already share a folio: move one to its own folio first.
CREATE UNIQUE INDEX pools_folio_no ON pools (folio_no);
