-- The platform's referral amount (issue 18): a fixed commission on a new
-- investor's first purchase through an ARN, per scheme and plan, kept with
-- the brokerage structure (brokerage CSV column referral_amount).
-- (Pre-assigned number 036: renumber at merge.)
ALTER TABLE brokerage_structures ADD COLUMN referral_amount numeric(18,2) NOT NULL DEFAULT 0 CHECK (referral_amount >= 0);
