-- 053 replaced 026's per-transaction balance trigger with a per-statement one
-- and dropped the trigger, but left its function behind. Nothing calls it;
-- dropping it keeps the schema saying only what runs.
DROP FUNCTION wallet_check_balanced();
