-- Issue 22, review M2: a pool fee sale that ends without proceeds (its
-- request rejected, its order rejected or cancelled by the ledger) no
-- longer leaves the invoice due for ever.
--
-- A sale the ledger ended is 'failed' with the ledger's reason; the rest
-- of the bill is planned again under new order ids (other lots or
-- schemes). When nothing can pay, the invoice gets a break row here and
-- an alert, and stays due until its sales are paid, the pool's cash
-- covers it, or an operator cancels it.
ALTER TABLE pool_fee_sales DROP CONSTRAINT pool_fee_sales_status_check;
ALTER TABLE pool_fee_sales ADD CONSTRAINT pool_fee_sales_status_check CHECK (status IN ('proposed', 'placed', 'failed'));
ALTER TABLE pool_fee_sales ADD COLUMN reason text NOT NULL DEFAULT '';

-- 'cancelled': an operator cancelled a due invoice (`fundflow pool fees
-- cancel`): its accruals are open again (invoice_id NULL), so the period
-- is billed again under a new invoice id (<id>-B<n>); a cancelled
-- invoice no longer holds the period.
ALTER TABLE pool_fee_invoices DROP CONSTRAINT pool_fee_invoices_status_check;
ALTER TABLE pool_fee_invoices ADD CONSTRAINT pool_fee_invoices_status_check CHECK (status IN ('due', 'charged', 'cancelled'));
ALTER TABLE pool_fee_invoices ADD COLUMN cancel_reason text;
ALTER TABLE pool_fee_invoices ADD COLUMN cancelled_at timestamptz;
ALTER TABLE pool_fee_invoices DROP CONSTRAINT pool_fee_invoices_pool_id_period_from_key;
CREATE UNIQUE INDEX pool_fee_invoices_period ON pool_fee_invoices (pool_id, period_from) WHERE status <> 'cancelled';

-- One break a due invoice nothing can pay (open while resolved_at is
-- NULL): why (no holdings left to sell, every scheme's sale refused, a
-- sale held by a restriction), resolved when the invoice is paid or
-- cancelled.
CREATE TABLE pool_fee_breaks (
    invoice_id  text        PRIMARY KEY REFERENCES pool_fee_invoices (id),
    pool_id     text        NOT NULL REFERENCES pools (id),
    reason      text        NOT NULL,
    detail      text        NOT NULL,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE INDEX pool_fee_breaks_open ON pool_fee_breaks (pool_id) WHERE resolved_at IS NULL;
