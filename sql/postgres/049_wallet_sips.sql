-- SIPs into a wallet (issue 22): a mandate-debited SIP whose instalment is
-- a wallet deposit (the debit's notes.order_id is wallet:<id>), credited and
-- auto-invested by the wallet's model, not a purchase of one scheme. Such a
-- plan names the wallet and no scheme; its folio is the wallet's
-- auto-invest folio.
ALTER TABLE plans ADD COLUMN wallet_id text REFERENCES wallets (id);
ALTER TABLE plans ADD CONSTRAINT plans_wallet_sip CHECK (wallet_id IS NULL OR (kind = 'sip' AND scheme_code = ''));
CREATE INDEX plans_wallet ON plans (wallet_id) WHERE wallet_id IS NOT NULL;
