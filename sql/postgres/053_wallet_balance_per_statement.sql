-- The wallet journal's balance check, set-based (issue 22, fee billing at
-- scale). 026's constraint trigger ran once per wallet transaction at
-- commit, each a query over that transaction's postings: a fee run of
-- 5,000 wallets made 5,000 of them. Every writer inserts a transaction's
-- postings in one statement (wallet/pgstore's Post and the fee run's
-- payments), so the check now runs once per statement over the statement's
-- own rows: each (transaction, asset) it posts to must sum to zero. Each
-- statement balanced makes every transaction balanced; a transaction's
-- postings split over statements that do not each balance are refused.
CREATE FUNCTION wallet_check_balanced_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT tx_id, asset, sum(amount) AS total INTO bad
    FROM posted GROUP BY tx_id, asset HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'wallet transaction % does not balance in %: sum %', bad.tx_id, bad.asset, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER wallet_postings_balanced ON wallet_postings;
CREATE TRIGGER wallet_postings_balanced AFTER INSERT ON wallet_postings
    REFERENCING NEW TABLE AS posted
    FOR EACH STATEMENT EXECUTE FUNCTION wallet_check_balanced_rows();
