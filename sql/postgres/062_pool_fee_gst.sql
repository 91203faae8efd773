-- Pool fees carry their GST from the day they accrue (issue 22, review
-- H2): each accrual row provisions 18 % GST on its fee (half-up to the
-- paisa), posted with the fee (Dr pool_fee_accrued:<pool> fee + gst, Cr
-- fee_income:managed fee, Cr tax:gst_accrued gst), so the pool NAV
-- deducts fee + GST and a leaving member pays their share of both. The
-- bill releases the provision (Dr tax:gst_accrued) and credits the
-- invoice's half-up GST on the sum to tax:gst; the few paise between the
-- two are the pool's at the bill. pools.fee_accrued keeps mirroring the
-- debit balance of pool_fee_accrued:<pool>, now fee + GST.
ALTER TABLE pool_fee_accruals ADD COLUMN gst numeric(18,2) NOT NULL DEFAULT 0 CHECK (gst >= 0);
