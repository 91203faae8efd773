package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// BenchmarkAuditStep appends the audit rows of a first NAVAll file's new
// schemes (one generated day, about 14,000 schemes, payloads like the
// scheme master's) as one step of the chain (AppendAudits: head locked,
// payloads made canonical, hashed here, inserted and checked by the
// database), and, step by step in alternation, inserts the same rows as
// stored into a plain copy of audit_log (its indexes, no triggers): what
// the chain's checks cost over writing the rows. Reports rows/s of both
// and ratio_vs_plain.
func BenchmarkAuditStep(b *testing.B) {
	var chainClock, plainClock benchkit.Clock
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pool, _ := testkit.PG(b)
		ctx := testkit.Ctx(b)
		if _, err := pool.Exec(ctx, `CREATE TABLE bench_audit_plain (LIKE audit_log INCLUDING ALL)`); err != nil {
			b.Fatal(err)
		}
		day := benchkit.Day(b, benchkit.Generator(b, 1), 0)
		entries := make([]postgres.AuditEntry, len(day))
		for j, n := range day {
			entries[j] = postgres.AuditEntry{Entity: "scheme", ID: n.SchemeCode, Action: "created", Payload: map[string]any{
				"version": 1, "valid_from": n.Date.String(), "name": n.SchemeName, "isin_growth": n.ISINGrowth,
				"isin_reinvest": n.ISINReinvest, "plan": n.Plan, "option": n.Option, "category": n.Category,
				"scheme_type": n.SchemeType, "amc": n.AMC, "source_sha256": n.From.SHA256, "source_line": n.From.Line,
			}}
		}
		b.StartTimer()
		for step := 0; step < 3; step++ {
			var before int64
			if err := pool.QueryRow(ctx, `SELECT seq FROM audit_head`).Scan(&before); err != nil {
				b.Fatal(err)
			}
			if err := chainClock.Time(len(entries), func() error {
				return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					return postgres.AppendAudits(ctx, tx, "nav-ingest", entries)
				})
			}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cols, err := storedAudit(ctx, pool, before)
			b.StartTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := plainClock.Time(len(entries), func() error {
				_, err := pool.Exec(ctx, `INSERT INTO bench_audit_plain (seq, at, entity, entity_id, action, actor, payload, prev_hash, hash)
					SELECT s, a, e, i, ac, act, p::jsonb, ph, h
					FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
					AS x(s, a, e, i, ac, act, p, ph, h)`, cols...)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(chainClock.PerSec(), "rows/s")
	b.ReportMetric(plainClock.PerSec(), "plain-rows/s")
	b.ReportMetric(chainClock.PerSec()/plainClock.PerSec(), "ratio_vs_plain")
}

// storedAudit reads the audit rows after seq as columns for unnest.
func storedAudit(ctx context.Context, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, after int64) ([]any, error) {
	rows, err := pool.Query(ctx, `SELECT seq, at, entity, entity_id, action, actor, payload::text, prev_hash, hash
		FROM audit_log WHERE seq > $1 ORDER BY seq`, after)
	if err != nil {
		return nil, err
	}
	var seqs []int64
	var ats []time.Time
	var ents, ids, acts, actors, payloads, prevs, hashes []string
	for rows.Next() {
		var s int64
		var at time.Time
		var e, id, a, actor, p, ph, h string
		if err := rows.Scan(&s, &at, &e, &id, &a, &actor, &p, &ph, &h); err != nil {
			return nil, err
		}
		seqs, ats = append(seqs, s), append(ats, at)
		ents, ids, acts, actors = append(ents, e), append(ids, id), append(acts, a), append(actors, actor)
		payloads, prevs, hashes = append(payloads, p), append(prevs, ph), append(hashes, h)
	}
	return []any{seqs, ats, ents, ids, acts, actors, payloads, prevs, hashes}, rows.Err()
}
