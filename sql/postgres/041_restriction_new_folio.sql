-- Restrictions carry the new-folio permission too (issue 23): a KYC status may let an investor keep buying into the
-- folios they have but not open a new one (a registered, not validated,
-- KYC since SEBI's KRA validation of 2024). The ledger holds a purchase
-- into a folio with no allotment yet when blocks_new_folio is set.
ALTER TABLE investor_restrictions ADD COLUMN blocks_new_folio boolean NOT NULL DEFAULT false;
ALTER TABLE investor_restrictions DROP CONSTRAINT investor_restrictions_check;
ALTER TABLE investor_restrictions ADD CONSTRAINT investor_restrictions_check
    CHECK (blocks_purchase OR blocks_redemption OR blocks_new_folio);
