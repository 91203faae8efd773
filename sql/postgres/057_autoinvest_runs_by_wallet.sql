-- The drift check and GET /v1/wallets/{id}/drift read a wallet's first
-- auto-invest run (the model its portfolio was first brought to) for
-- every wallet they measure; without this index each read scanned every
-- auto-invest run.
CREATE INDEX autoinvest_runs_wallet ON autoinvest_runs (wallet_id, created_at, payment_id);
