-- A lot's tax basis apart from its ledger date, issue 17: a lot carried
-- over by a scheme merger (034) is a new lot of the surviving scheme on the
-- merger date (its nav_date: FIFO, the exit-load clock, the ledger's
-- replay), but for capital gains it was acquired when the merged lot was,
-- at that lot's cost (its ledger transaction's amount, as for any lot).
--   acquired_on  the acquisition date for tax (NULL: nav_date)
--   fmv_2018     the fair market value of 31-Jan-2018 per unit of this
--                scheme, for grandfathering (NULL: this scheme's NAV then)
--   carried_from the lot it was carried from
ALTER TABLE holding_lots
    ADD COLUMN acquired_on  date,
    ADD COLUMN fmv_2018     numeric(18,4) CHECK (fmv_2018 > 0),
    ADD COLUMN carried_from bigint REFERENCES holding_lots (id),
    ADD CONSTRAINT holding_lots_acquired_before CHECK (acquired_on <= nav_date);
