package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// RTASink writes the RTAs' feed rows into rta_holding_rows and
// rta_txn_rows with COPY (the reconciliation then lets Postgres join them
// with the ledger), and records each file in rta_files. A batch is one
// transaction that first deletes the rows of its own lines, so a batch
// replayed after a crash stores each line once.
type RTASink struct{ Pool *pgxpool.Pool }

// Name labels the sink's metrics.
func (RTASink) Name() string { return "postgres-rta" }

var (
	holdingRowCols = []string{"file_id", "line", "rta", "as_of", "folio", "product_code", "isin", "units", "nav", "value"}
	txnRowCols     = []string{"file_id", "line", "rta", "folio", "product_code", "isin", "txn_no", "user_ref", "type_code",
		"kind", "trade_date", "nav_date", "post_date", "reported", "nav", "units", "amount", "stamp_duty", "status"}
)

// fileOf is what a batch says about one file.
type fileOf struct {
	id                      int64
	name, rta, layout, kind string
	asOf                    fund.Date
	minLine, maxLine        int
}

// Write stores a batch in one transaction.
func (s RTASink) Write(ctx context.Context, b pipelines.Batch[fund.RTALine]) error {
	if len(b.Items) == 0 {
		return nil
	}
	files := map[string]*fileOf{}
	var hold, txns [][]any
	for _, it := range b.Items {
		f := files[it.From.SHA256]
		if f == nil {
			f = &fileOf{name: it.From.File, layout: it.Layout, minLine: it.From.Line, maxLine: it.From.Line}
			files[it.From.SHA256] = f
		}
		f.minLine, f.maxLine = min(f.minLine, it.From.Line), max(f.maxLine, it.From.Line)
		if !it.IsTxn {
			h := it.Holding
			f.rta, f.kind = h.RTA, "holdings"
			if h.AsOf.After(f.asOf) {
				f.asOf = h.AsOf
			}
			hold = append(hold, []any{f, it.From.Line, h.RTA, h.AsOf.Time(), h.Folio, h.Product, h.ISIN,
				h.Units.Decimal(), nullDec(h.NAV), nullDec(h.Value)})
			continue
		}
		t := it.Txn
		f.rta, f.kind = t.RTA, "transactions"
		// A row's report date, else its trade date (never after the report).
		day := t.Reported
		if day.IsZero() {
			day = t.TradeDate
		}
		if day.After(f.asOf) {
			f.asOf = day
		}
		txns = append(txns, []any{f, it.From.Line, t.RTA, t.Folio, t.Product, t.ISIN, t.TxnNo, t.UserRef, t.TypeCode,
			t.Kind.String(), t.TradeDate.Time(), t.NAVDate.Time(), nullDate(t.PostDate), nullDate(t.Reported), nullDec(t.NAV),
			t.Units.Decimal(), t.Amount.Decimal(), t.StampDuty.Decimal(), t.Status})
	}
	return classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		for sha, f := range files {
			// as_of only moves forward, so a replayed batch leaves it as it was.
			if err := tx.QueryRow(ctx, `INSERT INTO rta_files (sha256, name, rta, layout, kind, as_of) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (sha256) DO UPDATE SET as_of = greatest(rta_files.as_of, excluded.as_of) RETURNING id`,
				sha, f.name, f.rta, f.layout, f.kind, f.asOf.Time()).Scan(&f.id); err != nil {
				return fmt.Errorf("rta_files %s: %w", f.name, err)
			}
			table := "rta_holding_rows"
			if f.kind == "transactions" {
				table = "rta_txn_rows"
			}
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE file_id = $1 AND line BETWEEN $2 AND $3`, f.id, f.minLine, f.maxLine); err != nil {
				return fmt.Errorf("clear replayed lines of %s: %w", f.name, err)
			}
		}
		// The rows were made before their file had an id.
		for _, rows := range [][][]any{hold, txns} {
			for _, r := range rows {
				r[0] = r[0].(*fileOf).id
			}
		}
		if len(hold) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rta_holding_rows"}, holdingRowCols, pgx.CopyFromRows(hold)); err != nil {
				return fmt.Errorf("copy holdings rows: %w", err)
			}
		}
		if len(txns) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rta_txn_rows"}, txnRowCols, pgx.CopyFromRows(txns)); err != nil {
				return fmt.Errorf("copy transaction rows: %w", err)
			}
		}
		return nil
	}))
}

func nullDec(d decimal.Decimal) any {
	if d.IsZero() {
		return nil
	}
	return d
}

func nullDate(d fund.Date) *time.Time {
	if d.IsZero() {
		return nil
	}
	t := d.Time()
	return &t
}
