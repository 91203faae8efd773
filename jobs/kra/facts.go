package kra

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// Facts writes the day's investor_facts to ClickHouse: one row per
// investor (onboarded or created by an order alone) from what Postgres
// keeps in the clear. It returns the rows written.
func Facts(ctx context.Context, pg *pgxpool.Pool, ch clickhouse.Conn, asOf fund.Date, now time.Time) (int, error) {
	rows, err := pg.Query(ctx, `SELECT i.id, p.investor_id IS NOT NULL, coalesce(p.tax_status, ''), coalesce(k.status, ''),
		coalesce(r.reason, ''), coalesce(k.pan_inoperative, false), coalesce(p.nomination, ''), coalesce(p.fatca_declared, false),
		(SELECT count(*) FROM investor_bank_accounts b WHERE b.investor_id = i.id AND b.removed_at IS NULL),
		(SELECT count(*) FROM investor_bank_accounts b WHERE b.investor_id = i.id AND b.removed_at IS NULL AND b.verification <> 'verified')
		FROM investors i LEFT JOIN investor_profiles p ON p.investor_id = i.id
		LEFT JOIN kyc_status k ON k.investor_id = i.id
		LEFT JOIN investor_restrictions r ON r.investor_id = i.id AND r.source = 'kyc'
		ORDER BY i.id`)
	if err != nil {
		return 0, fmt.Errorf("investor facts: %w", err)
	}
	defer rows.Close()
	b, err := ch.PrepareBatch(ctx, `INSERT INTO investor_facts (as_of, investor_id, onboarded, tax_status, kyc_status, kyc_reason,
		pan_inoperative, nomination, fatca_declared, bank_accounts, unverified_accounts, loaded_at)`)
	if err != nil {
		return 0, fmt.Errorf("investor facts: %w", err)
	}
	n := 0
	for rows.Next() {
		var id, ts, ks, reason, nom string
		var onboarded, inop, fatca bool
		var banks, unverified int64
		if err := rows.Scan(&id, &onboarded, &ts, &ks, &reason, &inop, &nom, &fatca, &banks, &unverified); err != nil {
			return n, err
		}
		// Unverified: no penny drop yet, pending, or failed.
		if err := b.Append(asOf.Time(), id, u8(onboarded), ts, ks, reason, u8(inop), nom, u8(fatca), uint16(banks), uint16(unverified), now.UTC()); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if err := b.Send(); err != nil {
		return 0, fmt.Errorf("investor facts: %w", err)
	}
	return n, nil
}

func u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
