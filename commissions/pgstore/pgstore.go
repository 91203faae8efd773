// Package pgstore is the commissions service's Store in Postgres: SQL only.
// The rules (which rate, which bucket, what a day posts) come from
// fund/commission through the service.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Store is commissions.Store on a Postgres pool.
type Store struct{ Pool *pgxpool.Pool }

var _ commissions.Store = Store{}

// Accounts of the commission journal.
const (
	AccountReceivable = "amc:commission_receivable"
	actor             = "commissions"
)

// AccruedAccount is the account a bucket's trail accrues to.
func AccruedAccount(bucket string) string { return "distributor:" + bucket + ":accrued" }

// Table reads the brokerage structures.
func (s Store) Table(ctx context.Context) (*commission.Table, error) {
	rows, err := s.Pool.Query(ctx, `SELECT scheme_code, plan, valid_from, slab_from_aum, trail_pct, upfront_pct,
		upfront_max_sip, clawback_days, first_sip_amount, referral_amount
		FROM brokerage_structures ORDER BY scheme_code, plan, valid_from, slab_from_aum`)
	if err != nil {
		return nil, fmt.Errorf("brokerage structures: %w", err)
	}
	defer rows.Close()
	var out []commission.Structure
	var cur *commission.Structure
	for rows.Next() {
		var scheme, plan string
		var from time.Time
		var slabFrom, trail, upPct, upMax, first, referral decimal.Decimal
		var claw int
		if err := rows.Scan(&scheme, &plan, &from, &slabFrom, &trail, &upPct, &upMax, &claw, &first, &referral); err != nil {
			return nil, err
		}
		p, err := commission.ParsePlan(plan)
		if err != nil {
			return nil, err
		}
		day := fund.DateOf(from)
		if cur == nil || cur.Scheme != scheme || cur.Plan != p || cur.From != day {
			out = append(out, commission.Structure{Scheme: scheme, Plan: p, From: day, UpfrontPct: upPct,
				UpfrontMaxSIP: amount(upMax), ClawbackDays: claw, FirstSIPAmount: amount(first), ReferralAmount: amount(referral)})
			cur = &out[len(out)-1]
		}
		cur.Slabs = append(cur.Slabs, commission.Slab{FromAUM: slabFrom, TrailPct: trail})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if len(out[i].Slabs) == 1 { // one row from 0: a flat rate
			out[i].TrailPct, out[i].Slabs = out[i].Slabs[0].TrailPct, nil
		}
	}
	return commission.NewTable(out)
}

func amount(d decimal.Decimal) fund.Amount {
	a, _ := fund.AmountFromDecimal(d, fund.NoRounding) // numeric(18,2): always fits
	return a
}

// PutBrokerage stores a parsed brokerage file: its quarantined lines, and
// each structure that loaded, replacing a structure of the same scheme, plan
// and date (a corrected file), with an audit row each, in one transaction.
func (s Store) PutBrokerage(ctx context.Context, f commissions.BrokerageFile) (int, error) {
	if err := (postgres.Store{Pool: s.Pool}).Put(ctx, f.Rejected); err != nil {
		return 0, fmt.Errorf("brokerage %s: quarantine: %w", f.Name, err)
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		for _, st := range f.Structures {
			if _, err := tx.Exec(ctx, `DELETE FROM brokerage_structures WHERE scheme_code = $1 AND plan = $2 AND valid_from = $3`,
				st.Scheme, st.Plan.String(), st.From.Time()); err != nil {
				return err
			}
			slabs := st.Slabs
			if len(slabs) == 0 {
				slabs = []commission.Slab{{FromAUM: decimal.Zero, TrailPct: st.TrailPct}}
			}
			for _, sl := range slabs {
				if _, err := tx.Exec(ctx, `INSERT INTO brokerage_structures (scheme_code, plan, valid_from, slab_from_aum, trail_pct,
					upfront_pct, upfront_max_sip, clawback_days, first_sip_amount, referral_amount, source_file, source_sha256)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
					st.Scheme, st.Plan.String(), st.From.Time(), sl.FromAUM, sl.TrailPct, st.UpfrontPct,
					st.UpfrontMaxSIP.Decimal(), st.ClawbackDays, st.FirstSIPAmount.Decimal(), st.ReferralAmount.Decimal(), f.Name, f.SHA256); err != nil {
					return err
				}
			}
			if err := postgres.AppendAuditBy(ctx, tx, actor, "brokerage_structure",
				fmt.Sprintf("%s/%s/%s", st.Scheme, st.Plan, st.From), "loaded",
				map[string]any{"file": f.Name, "sha256": f.SHA256, "slabs": len(slabs)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("brokerage %s: %w", f.Name, err)
	}
	return len(f.Structures), nil
}

// Hierarchy reads the parties and share trees.
func (s Store) Hierarchy(ctx context.Context) (*commission.Hierarchy, error) {
	return hierarchy(ctx, s.Pool)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func hierarchy(ctx context.Context, q querier) (*commission.Hierarchy, error) {
	ps, ts, err := readHierarchy(ctx, q)
	if err != nil {
		return nil, err
	}
	return commission.NewHierarchy(ps, ts)
}

func readHierarchy(ctx context.Context, q querier) ([]commission.Party, []commission.Tree, error) {
	rows, err := q.Query(ctx, `SELECT id, kind, name, valid_from, valid_to, gst_registered, intra_state FROM distributors ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("distributors: %w", err)
	}
	var ps []commission.Party
	for rows.Next() {
		var p commission.Party
		var kind string
		var from time.Time
		var to *time.Time
		if err := rows.Scan(&p.ID, &kind, &p.Name, &from, &to, &p.GSTRegistered, &p.IntraState); err != nil {
			rows.Close()
			return nil, nil, err
		}
		p.Kind, err = commission.ParsePartyKind(kind)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		p.ValidFrom = fund.DateOf(from)
		if to != nil {
			p.ValidTo = fund.DateOf(*to)
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = q.Query(ctx, `SELECT root, valid_from, parent, payee, pct FROM distributor_shares ORDER BY root, valid_from, parent, payee`)
	if err != nil {
		return nil, nil, fmt.Errorf("distributor shares: %w", err)
	}
	defer rows.Close()
	var ts []commission.Tree
	for rows.Next() {
		var root, parent, payee string
		var from time.Time
		var pct decimal.Decimal
		if err := rows.Scan(&root, &from, &parent, &payee, &pct); err != nil {
			return nil, nil, err
		}
		day := fund.DateOf(from)
		if len(ts) == 0 || ts[len(ts)-1].Root != root || ts[len(ts)-1].From != day {
			ts = append(ts, commission.Tree{Root: root, From: day})
		}
		ts[len(ts)-1].Shares = append(ts[len(ts)-1].Shares, commission.Share{Parent: parent, Payee: payee, Pct: pct})
	}
	return ps, ts, rows.Err()
}

// PutHierarchy adds or replaces parties (by id) and share trees (by root and
// date). The hierarchy they make with what is stored is validated whole
// (fund/commission.NewHierarchy: every node's shares sum to 100 %, payees
// known) before anything is written: a refused load writes nothing and the
// hierarchy in force stays.
func (s Store) PutHierarchy(ctx context.Context, parties []commission.Party, trees []commission.Tree) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('commissions:hierarchy'))`); err != nil {
			return err
		}
		oldP, oldT, err := readHierarchy(ctx, tx)
		if err != nil {
			return err
		}
		byID := map[string]commission.Party{}
		for _, p := range oldP {
			byID[p.ID] = p
		}
		for _, p := range parties {
			byID[p.ID] = p
		}
		type tk struct {
			root string
			from fund.Date
		}
		byTree := map[tk]commission.Tree{}
		for _, t := range oldT {
			byTree[tk{t.Root, t.From}] = t
		}
		for _, t := range trees {
			byTree[tk{t.Root, t.From}] = t
		}
		var allP []commission.Party
		for _, p := range byID {
			allP = append(allP, p)
		}
		var allT []commission.Tree
		for _, t := range byTree {
			allT = append(allT, t)
		}
		if _, err := commission.NewHierarchy(allP, allT); err != nil {
			return err
		}
		for _, p := range parties {
			var to *time.Time
			if !p.ValidTo.IsZero() {
				t := p.ValidTo.Time()
				to = &t
			}
			if _, err := tx.Exec(ctx, `INSERT INTO distributors (id, kind, name, valid_from, valid_to, gst_registered, intra_state)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, valid_from = excluded.valid_from,
					valid_to = excluded.valid_to, gst_registered = excluded.gst_registered, intra_state = excluded.intra_state,
					updated_at = now()`,
				p.ID, p.Kind.String(), p.Name, p.ValidFrom.Time(), to, p.GSTRegistered, p.IntraState); err != nil {
				return fmt.Errorf("distributor %s: %w", p.ID, err)
			}
			if err := postgres.AppendAuditBy(ctx, tx, actor, "distributor", p.ID, "put", p); err != nil {
				return err
			}
		}
		for _, t := range trees {
			if _, err := tx.Exec(ctx, `DELETE FROM distributor_shares WHERE root = $1 AND valid_from = $2`, t.Root, t.From.Time()); err != nil {
				return err
			}
			for _, sh := range t.Shares {
				if _, err := tx.Exec(ctx, `INSERT INTO distributor_shares (root, valid_from, parent, payee, pct) VALUES ($1, $2, $3, $4, $5)`,
					t.Root, t.From.Time(), sh.Parent, sh.Payee, sh.Pct); err != nil {
					return fmt.Errorf("share %s→%s: %w", sh.Parent, sh.Payee, err)
				}
			}
			if err := postgres.AppendAuditBy(ctx, tx, actor, "distributor_tree", t.Root+"/"+t.From.String(), "put", t.Shares); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetFolioDistributor records a folio's distributor of record (arn "" for a
// direct folio).
func (s Store) SetFolioDistributor(ctx context.Context, folio, arn, euin string) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE folios SET arn = NULLIF($2, ''), euin = NULLIF($3, '') WHERE folio_no = $1`, folio, arn, euin)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("folio %s: not found", folio)
	}
	return err
}

// positions is every folio's holding of each scheme at the end of day $1
// through its distributor of record: the current holding less what was
// allotted after the day, plus what was redeemed after it; with the
// scheme's plan (ParsePlan's rule: "direct" or "direct plan", any case, is
// direct; anything else, or a scheme the master lacks, regular) and AMC.
const positions = `
later AS (
    SELECT folio_no, scheme_code,
           sum(CASE WHEN kind IN ('purchase', 'switch_in') THEN units ELSE -units END) AS units
    FROM ledger_transactions WHERE nav_date > $1 GROUP BY folio_no, scheme_code
), pos AS (
    SELECT h.folio_no, h.scheme_code, h.units - coalesce(l.units, 0) AS units, f.arn, coalesce(f.euin, '') AS euin,
           CASE WHEN regexp_replace(lower(btrim(coalesce(s.plan, ''))), ' plan$', '') = 'direct' THEN 'direct' ELSE 'regular' END AS plan,
           coalesce(nullif(s.amc, ''), f.amc) AS amc
    FROM holdings h JOIN folios f USING (folio_no)
    LEFT JOIN later l USING (folio_no, scheme_code)
    LEFT JOIN schemes s ON s.code = h.scheme_code
    WHERE f.arn IS NOT NULL AND h.units - coalesce(l.units, 0) > 0
)`

// accrueSQL writes a day's rows in one statement: each position valued at
// its scheme's latest NAV on or before the day ($9..$11: navSQL; carried
// over holidays),
// its trail the band its AUM falls in ($5..$8: commission.Table.BandsOn; a
// direct plan or a scheme without a band at 0), its bucket its ARN's
// ($2..$4: commission.Bucket). aum and basis are exact numerics, as
// commission.AUM and DailyTrail compute them. It returns the day's exact
// accruals, rows and held rows per bucket.
const accrueSQL = `WITH ` + positions + `, nav AS (
    SELECT * FROM unnest($9::text[], $10::numeric[], $11::date[]) AS n(scheme_code, nav, nav_date)
), b AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS b(arn, bucket, reason)
), r AS (
    SELECT * FROM unnest($5::text[], $6::numeric[], $7::numeric[], $8::numeric[]) AS r(scheme_code, lo, hi, pct)
), v AS (
    SELECT p.*, n.nav, n.nav_date, p.units * n.nav AS aum FROM pos p JOIN nav n USING (scheme_code)
), ins AS (
    INSERT INTO trail_accruals (day, arn, folio_no, scheme_code, euin, plan, amc, units, nav, nav_date, aum, trail_pct, basis, bucket, held_reason)
    SELECT $1, v.arn, v.folio_no, v.scheme_code, v.euin, v.plan, v.amc, v.units, v.nav, v.nav_date, v.aum,
           coalesce(r.pct, 0), v.aum * coalesce(r.pct, 0), b.bucket, b.reason
    FROM v JOIN b USING (arn)
    LEFT JOIN r ON r.scheme_code = v.scheme_code AND v.plan = 'regular' AND v.aum >= r.lo AND (r.hi IS NULL OR v.aum < r.hi)
    RETURNING bucket, basis, held_reason
)
SELECT bucket, sum(basis), count(*), count(*) FILTER (WHERE held_reason <> '') FROM ins GROUP BY bucket`

// navSQL returns each held scheme's latest NAV on or before the day (NULL:
// none yet), one index probe per scheme.
const navSQL = `SELECT sc.scheme_code, n.nav, n.nav_date
FROM (SELECT DISTINCT scheme_code FROM holdings) sc
LEFT JOIN LATERAL (SELECT nav, nav_date FROM navs
                   WHERE navs.scheme_code = sc.scheme_code AND nav_date <= $1
                   ORDER BY nav_date DESC LIMIT 1) n ON true`

// noNAVSQL counts the day's positions in schemes ($2) with no NAV on or
// before the day: they cannot be valued and are counted, not accrued.
const noNAVSQL = `WITH ` + positions + ` SELECT count(*) FROM pos WHERE scheme_code = ANY($2)`

// CommitDay implements commissions.Store: the whole day is one transaction,
// serialised with other days by an advisory lock; its rows are one INSERT ...
// SELECT (no row leaves the database).
func (s Store) CommitDay(ctx context.Context, day fund.Date, bands []commission.Band, bucketOf func(string) (commissions.ARNBucket, error),
	post func(map[string]decimal.Decimal, map[string]commissions.MonthSoFar) ([]commissions.Entry, error)) (counts commissions.DayCounts, done bool, err error) {
	monthStart := fund.NewDate(day.Year, day.Month, 1)
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('commissions:accrual'))`); err != nil {
			return err
		}
		var exists, earlier, prev bool
		if err := tx.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM commission_days WHERE day = $1),
				EXISTS (SELECT 1 FROM commission_days WHERE day >= $2 AND day < $1),
				EXISTS (SELECT 1 FROM commission_days WHERE day = $3)`,
			day.Time(), monthStart.Time(), day.AddDays(-1).Time()).Scan(&exists, &earlier, &prev); err != nil {
			return err
		}
		if exists {
			done = true
			return nil
		}
		if earlier && !prev {
			return fmt.Errorf("%w: %s before %s", commissions.ErrDayOrder, day.AddDays(-1), day)
		}
		// Each distributor of record's bucket, decided by the rules once per ARN.
		ar, err := tx.Query(ctx, `SELECT DISTINCT arn FROM folios WHERE arn IS NOT NULL`)
		if err != nil {
			return fmt.Errorf("distributors of record: %w", err)
		}
		arns, err := pgx.CollectRows(ar, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("distributors of record: %w", err)
		}
		var bArn, bBucket, bReason []string
		for _, a := range arns {
			ab, err := bucketOf(a)
			if err != nil {
				return err
			}
			bArn, bBucket, bReason = append(bArn, a), append(bBucket, ab.Bucket), append(bReason, ab.Reason)
		}
		rScheme := make([]string, len(bands))
		rLo, rHi, rPct := make([]decimal.Decimal, len(bands)), make([]*decimal.Decimal, len(bands)), make([]decimal.Decimal, len(bands))
		for i, b := range bands {
			rScheme[i], rLo[i], rPct[i] = b.Scheme, b.FromAUM, b.TrailPct
			if !b.Open {
				rHi[i] = &bands[i].ToAUM
			}
		}
		// The NAVs first, as arrays: joined to the positions by hash (a
		// lateral lookup in the same statement led the planner into a
		// nested loop over schemes, 14 s for 100,000 holdings).
		var nScheme, noNAV []string
		var nNAV []decimal.Decimal
		var nDate []time.Time
		nr, err := tx.Query(ctx, navSQL, day.Time())
		if err != nil {
			return fmt.Errorf("NAVs: %w", err)
		}
		for nr.Next() {
			var sc string
			var nav *decimal.Decimal
			var d *time.Time
			if err := nr.Scan(&sc, &nav, &d); err != nil {
				nr.Close()
				return err
			}
			if nav == nil {
				noNAV = append(noNAV, sc)
				continue
			}
			nScheme, nNAV, nDate = append(nScheme, sc), append(nNAV, *nav), append(nDate, *d)
		}
		nr.Close()
		if err := nr.Err(); err != nil {
			return fmt.Errorf("NAVs: %w", err)
		}
		counts.ByBucket = map[string]decimal.Decimal{}
		r, err := tx.Query(ctx, accrueSQL, day.Time(), bArn, bBucket, bReason, rScheme, rLo, rHi, rPct, nScheme, nNAV, nDate)
		if err != nil {
			return fmt.Errorf("trail rows: %w", err)
		}
		for r.Next() {
			var b string
			var basis decimal.Decimal
			var n, held int
			if err := r.Scan(&b, &basis, &n, &held); err != nil {
				r.Close()
				return err
			}
			counts.ByBucket[b] = basis
			counts.Rows += n
			counts.Held += held
		}
		r.Close()
		if err := r.Err(); err != nil {
			return fmt.Errorf("trail rows: %w", err)
		}
		// Positions in schemes with no NAV yet: rare, so counted only when
		// such a scheme is held.
		if len(noNAV) > 0 {
			if err := tx.QueryRow(ctx, noNAVSQL, day.Time(), noNAV).Scan(&counts.NoNAV); err != nil {
				return err
			}
		}
		before := map[string]commissions.MonthSoFar{}
		r, err = tx.Query(ctx, `SELECT bucket, sum(basis), sum(amount) FROM commission_journal
			WHERE kind = 'trail' AND day >= $1 AND day < $2 GROUP BY bucket`, monthStart.Time(), day.Time())
		if err != nil {
			return err
		}
		for r.Next() {
			var b string
			var basis, amt decimal.Decimal
			if err := r.Scan(&b, &basis, &amt); err != nil {
				r.Close()
				return err
			}
			before[b] = commissions.MonthSoFar{Basis: basis, Posted: amount(amt)}
		}
		r.Close()
		if err := r.Err(); err != nil {
			return err
		}
		entries, err := post(counts.ByBucket, before)
		if err != nil {
			return err
		}
		var total decimal.Decimal
		var posted fund.Amount
		if len(entries) > 0 {
			keys := make([]string, len(entries))
			buckets := make([]string, len(entries))
			bases := make([]decimal.Decimal, len(entries))
			amts := make([]decimal.Decimal, len(entries))
			for i, e := range entries {
				keys[i], buckets[i], bases[i], amts[i] = "trail:"+day.String()+":"+e.Bucket, e.Bucket, e.Basis, e.Amount.Decimal()
				total, posted = total.Add(e.Basis), posted.Add(e.Amount)
			}
			// One entry per bucket; postings only where the day posts money.
			if _, err := tx.Exec(ctx, `
WITH j AS (
    INSERT INTO commission_journal (key, kind, day, bucket, basis, amount)
    SELECT k, 'trail', $1, b, x, a FROM unnest($2::text[], $3::text[], $4::numeric[], $5::numeric[]) AS u(k, b, x, a)
    RETURNING id, bucket, amount
)
INSERT INTO commission_postings (tx_id, seq, account, amount)
SELECT id, 0, $6, amount FROM j WHERE amount <> 0
UNION ALL
SELECT id, 1, 'distributor:' || bucket || ':accrued', -amount FROM j WHERE amount <> 0`,
				day.Time(), keys, buckets, bases, amts, AccountReceivable); err != nil {
				return fmt.Errorf("journal: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO commission_days (day, rows, basis, posted) VALUES ($1, $2, $3, $4)`,
			day.Time(), counts.Rows, total, posted.Decimal()); err != nil {
			return err
		}
		return postgres.AppendAuditBy(ctx, tx, actor, "commission_day", day.String(), "accrued",
			map[string]any{"rows": counts.Rows, "no_nav": counts.NoNAV, "held": counts.Held, "basis": total.String(),
				"posted": posted.String(), "buckets": len(entries)})
	})
	if err != nil && !errors.Is(err, commissions.ErrDayOrder) {
		err = postgres.Classify(err)
	}
	return counts, done, err
}

// LastAccrued returns the latest accrued day (ok false: none yet).
func (s Store) LastAccrued(ctx context.Context) (fund.Date, bool, error) {
	var t *time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT max(day) FROM commission_days`).Scan(&t); err != nil || t == nil {
		return fund.Date{}, false, err
	}
	return fund.DateOf(*t), true, nil
}

var _ commissions.PayoutStore = Store{}

// MonthBuckets implements commissions.PayoutStore.
func (s Store) MonthBuckets(ctx context.Context, month fund.Date) ([]commission.BucketDay, int, error) {
	next := commissions.MonthOf(month.AddDays(32))
	var accrued int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM commission_days WHERE day >= $1 AND day < $2`, month.Time(), next.Time()).Scan(&accrued); err != nil {
		return nil, 0, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT day, arn, bucket, sum(basis) FROM trail_accruals
		WHERE day >= $1 AND day < $2 GROUP BY day, arn, bucket`, month.Time(), next.Time())
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []commission.BucketDay
	for rows.Next() {
		var d commission.BucketDay
		var t time.Time
		var basis decimal.Decimal
		if err := rows.Scan(&t, &d.ARN, &d.Bucket, &basis); err != nil {
			return nil, 0, err
		}
		d.Day, d.Accrual = fund.DateOf(t), commission.AccrualFromBasis(basis)
		out = append(out, d)
	}
	return out, accrued, rows.Err()
}

// Accounts of a payout.
const (
	AccountGSTInput = "tax:gst_input"
	AccountTDS      = "tax:tds_194h"
)

// PayableAccount is a payee's account of what is owed to it.
func PayableAccount(payee string) string { return "distributor:" + payee + ":payable" }

// CommitPayout implements commissions.PayoutStore: per bucket one entry
// moving its month's accrued trail to its payees' payables, per payee one
// entry for GST (input, owed to the payee) and TDS (withheld, owed to the
// tax authority); lines, statements and an audit row; one transaction.
func (s Store) CommitPayout(ctx context.Context, month fund.Date, lines []commission.Line, events []commission.EventPayLine, stmts []commission.Statement) (done bool, err error) {
	key := month.String()[:7]
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('commissions:payout'))`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM commission_journal WHERE key = $1)`, "payout:"+key).Scan(&done); err != nil || done {
			return err
		}
		// The month's marker entry (no postings): a rerun finds it.
		if _, err := tx.Exec(ctx, `INSERT INTO commission_journal (key, kind, day, bucket, amount) VALUES ($1, 'payout', $2, '', 0)`,
			"payout:"+key, month.Time()); err != nil {
			return err
		}
		type entry struct {
			key, bucket string
			amount      fund.Amount
			postings    [][2]any // account, amount
		}
		for _, l := range lines {
			if _, err := tx.Exec(ctx, `INSERT INTO commission_payout_lines (month, bucket, payee, exact, amount, reason) VALUES ($1, $2, $3, $4, $5, $6)`,
				month.Time(), l.Bucket, l.Payee, l.Exact.Basis(), l.Amount.Decimal(), l.Reason); err != nil {
				return err
			}
		}
		var entries []entry
		var order []string
		sums := map[string]fund.Amount{}
		posts := map[string][][2]any{}
		for _, l := range lines {
			if _, ok := sums[l.Bucket]; !ok {
				order = append(order, l.Bucket)
			}
			sums[l.Bucket] = sums[l.Bucket].Add(l.Amount)
			if !l.Amount.IsZero() {
				posts[l.Bucket] = append(posts[l.Bucket], [2]any{PayableAccount(l.Payee), l.Amount.Neg().Decimal()})
			}
		}
		for _, b := range order {
			if sums[b].IsZero() {
				continue
			}
			ps := append([][2]any{{AccruedAccount(b), sums[b].Decimal()}}, posts[b]...)
			entries = append(entries, entry{key: "payout:" + key + ":" + b, bucket: b, amount: sums[b], postings: ps})
		}
		// Event amounts: per bucket one entry moving its net (upfront and
		// events less clawbacks) from accrued to the payees' payables.
		evSum := map[string]fund.Amount{}
		var evOrder []string
		evPosts := map[string]map[string]fund.Amount{}
		for _, l := range events {
			if _, err := tx.Exec(ctx, `INSERT INTO commission_payout_event_lines (month, bucket, payee, kind, amount) VALUES ($1, $2, $3, $4, $5)`,
				month.Time(), l.Bucket, l.Payee, string(l.Kind), l.Amount.Decimal()); err != nil {
				return err
			}
			a := l.Amount
			if l.Kind == commission.KindClawback {
				a = a.Neg()
			}
			if _, ok := evPosts[l.Bucket]; !ok {
				evOrder = append(evOrder, l.Bucket)
				evPosts[l.Bucket] = map[string]fund.Amount{}
			}
			evSum[l.Bucket] = evSum[l.Bucket].Add(a)
			evPosts[l.Bucket][l.Payee] = evPosts[l.Bucket][l.Payee].Add(a)
		}
		for _, b := range evOrder {
			ps := [][2]any{}
			if !evSum[b].IsZero() {
				ps = append(ps, [2]any{AccruedAccount(b), evSum[b].Decimal()})
			}
			payees := make([]string, 0, len(evPosts[b]))
			for p := range evPosts[b] {
				payees = append(payees, p)
			}
			sort.Strings(payees)
			for _, p := range payees {
				if a := evPosts[b][p]; !a.IsZero() {
					ps = append(ps, [2]any{PayableAccount(p), a.Neg().Decimal()})
				}
			}
			if len(ps) > 0 {
				entries = append(entries, entry{key: "payout-events:" + key + ":" + b, bucket: b, amount: evSum[b], postings: ps})
			}
		}
		for _, st := range stmts {
			if _, err := tx.Exec(ctx, `INSERT INTO commission_payouts (month, payee, payout_date, trail, upfront, events, clawback, gross,
				cgst, sgst, igst, tds_pct, tds, net, carried, brought_forward) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
				month.Time(), st.Payee, st.PayoutDate.Time(), st.Trail.Decimal(), st.Upfront.Decimal(), st.Events.Decimal(), st.Clawback.Decimal(),
				st.Gross.Decimal(), st.CGST.Decimal(), st.SGST.Decimal(), st.IGST.Decimal(), st.TDSPct, st.TDS.Decimal(), st.Net.Decimal(),
				st.Carried.Decimal(), st.BroughtForward.Decimal()); err != nil {
				return err
			}
			var ps [][2]any
			if !st.GST.IsZero() {
				ps = append(ps, [2]any{AccountGSTInput, st.GST.Decimal()}, [2]any{PayableAccount(st.Payee), st.GST.Neg().Decimal()})
			}
			if !st.TDS.IsZero() {
				ps = append(ps, [2]any{PayableAccount(st.Payee), st.TDS.Decimal()}, [2]any{AccountTDS, st.TDS.Neg().Decimal()})
			}
			if len(ps) > 0 {
				entries = append(entries, entry{key: "payout-tax:" + key + ":" + st.Payee, bucket: st.Payee, postings: ps})
			}
		}
		for _, e := range entries {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO commission_journal (key, kind, day, bucket, amount) VALUES ($1, 'payout', $2, $3, $4) RETURNING id`,
				e.key, month.Time(), e.bucket, e.amount.Decimal()).Scan(&id); err != nil {
				return err
			}
			for i, p := range e.postings {
				if _, err := tx.Exec(ctx, `INSERT INTO commission_postings (tx_id, seq, account, amount) VALUES ($1, $2, $3, $4)`,
					id, i, p[0], p[1]); err != nil {
					return err
				}
			}
		}
		return postgres.AppendAuditBy(ctx, tx, actor, "commission_payout", key, "paid",
			map[string]any{"lines": len(lines), "statements": len(stmts)})
	})
	if err != nil {
		err = postgres.Classify(err)
	}
	return done, err
}

// Carried implements commissions.PayoutStore: the previous month's
// shortfalls, from its statements; a month is paid when its marker entry
// ('payout:YYYY-MM') is in the journal.
func (s Store) Carried(ctx context.Context, month fund.Date) (map[string]fund.Amount, bool, bool, error) {
	prev := commissions.MonthOf(month.AddDays(-1))
	var prevPaid, earlierPaid bool
	if err := s.Pool.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM commission_journal WHERE key = $1),
			EXISTS (SELECT 1 FROM commission_journal WHERE kind = 'payout' AND key ~ '^payout:[0-9]{4}-[0-9]{2}$' AND day < $2)`,
		"payout:"+prev.String()[:7], month.Time()).Scan(&prevPaid, &earlierPaid); err != nil {
		return nil, false, false, fmt.Errorf("payouts before %s: %w", month, err)
	}
	rows, err := s.Pool.Query(ctx, `SELECT payee, carried FROM commission_payouts WHERE month = $1 AND carried < 0`, prev.Time())
	if err != nil {
		return nil, false, false, fmt.Errorf("carried into %s: %w", month, err)
	}
	defer rows.Close()
	out := map[string]fund.Amount{}
	for rows.Next() {
		var p string
		var c decimal.Decimal
		if err := rows.Scan(&p, &c); err != nil {
			return nil, false, false, err
		}
		out[p] = amount(c)
	}
	return out, prevPaid, earlierPaid, rows.Err()
}

// MonthHoldings returns each holding's month of accruals in a bucket (the
// input of commission.Explain).
func (s Store) MonthHoldings(ctx context.Context, bucket string, month fund.Date) ([]commission.HoldingMonth, error) {
	next := commissions.MonthOf(month.AddDays(32))
	rows, err := s.Pool.Query(ctx, `SELECT folio_no || '/' || scheme_code, count(*), sum(units), sum(units * nav), sum(basis), bool_or(plan = 'direct')
		FROM trail_accruals WHERE bucket = $1 AND day >= $2 AND day < $3 GROUP BY folio_no, scheme_code`, bucket, month.Time(), next.Time())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commission.HoldingMonth
	for rows.Next() {
		var h commission.HoldingMonth
		if err := rows.Scan(&h.Key, &h.Days, &h.UnitDays, &h.AUMDays, &h.Basis, &h.Direct); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Subtree returns arn and every payee under it in any of its share trees
// (and theirs), whatever their dates: what a distributor may read.
func (s Store) Subtree(ctx context.Context, arn string) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `WITH RECURSIVE sub(id) AS (
		SELECT $1::text
		UNION SELECT sh.payee FROM distributor_shares sh JOIN sub ON sh.parent = sub.id
	) SELECT id FROM sub ORDER BY id`, arn)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// PayoutOf returns payee's statement of month and the lines paying it (ok
// false: no payout).
func (s Store) PayoutOf(ctx context.Context, payee string, month fund.Date) (commission.Statement, []commission.Line, bool, error) {
	var st commission.Statement
	var pd time.Time
	var trail, up, ev, claw, gross, cgst, sgst, igst, tds, net, carried, bf decimal.Decimal
	err := s.Pool.QueryRow(ctx, `SELECT payout_date, trail, upfront, events, clawback, gross, cgst, sgst, igst, tds_pct, tds, net, carried,
		brought_forward FROM commission_payouts WHERE month = $1 AND payee = $2`, month.Time(), payee).
		Scan(&pd, &trail, &up, &ev, &claw, &gross, &cgst, &sgst, &igst, &st.TDSPct, &tds, &net, &carried, &bf)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil, false, nil
	}
	if err != nil {
		return st, nil, false, err
	}
	st.Payee, st.PayoutDate = payee, fund.DateOf(pd)
	st.Trail, st.Upfront, st.Events, st.Clawback, st.Gross = amount(trail), amount(up), amount(ev), amount(claw), amount(gross)
	st.CGST, st.SGST, st.IGST, st.TDS, st.Net, st.Carried = amount(cgst), amount(sgst), amount(igst), amount(tds), amount(net), amount(carried)
	st.GST, st.BroughtForward = st.CGST.Add(st.SGST).Add(st.IGST), amount(bf)
	rows, err := s.Pool.Query(ctx, `SELECT bucket, exact, amount, reason FROM commission_payout_lines WHERE month = $1 AND payee = $2 ORDER BY bucket`,
		month.Time(), payee)
	if err != nil {
		return st, nil, false, err
	}
	defer rows.Close()
	var lines []commission.Line
	for rows.Next() {
		l := commission.Line{Payee: payee}
		var exact, amt decimal.Decimal
		if err := rows.Scan(&l.Bucket, &exact, &amt, &l.Reason); err != nil {
			return st, nil, false, err
		}
		l.Exact, l.Amount = commission.AccrualFromBasis(exact), amount(amt)
		lines = append(lines, l)
	}
	return st, lines, true, rows.Err()
}

// BrokerageLines returns our side of a month's brokerage reconciliation: per
// ARN, folio and scheme, the month's average AUM (Σ AUM / days accrued, to the
// paisa, half-up), the last rate applied, the trail rounded once, and the
// upfronts clawed back in the month (commission_events); a key with only a
// clawback has a line of its own.
func (s Store) BrokerageLines(ctx context.Context, month fund.Date) ([]recon.BrokerageLine, error) {
	next := commissions.MonthOf(month.AddDays(32))
	rows, err := s.Pool.Query(ctx, `WITH trail AS (
			SELECT arn, folio_no, scheme_code, round(sum(aum) / count(*), 2) AS avg_aum,
				(array_agg(trail_pct ORDER BY day DESC))[1] AS trail_pct, sum(basis) AS basis
			FROM trail_accruals WHERE day >= $1 AND day < $2 AND held_reason = ''
			GROUP BY arn, folio_no, scheme_code HAVING sum(basis) > 0
		), claw AS (
			SELECT arn, folio_no, scheme_code, sum(amount) AS clawback
			FROM commission_events WHERE kind = 'clawback' AND day >= $1 AND day < $2 AND bucket NOT LIKE 'held:%'
			GROUP BY arn, folio_no, scheme_code
		)
		SELECT arn, folio_no, scheme_code, coalesce(t.avg_aum, 0), coalesce(t.trail_pct, 0), coalesce(t.basis, 0), coalesce(c.clawback, 0)
		FROM trail t FULL JOIN claw c USING (arn, folio_no, scheme_code)`, month.Time(), next.Time())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []recon.BrokerageLine
	for rows.Next() {
		l := recon.BrokerageLine{Month: month.String()[:7]}
		var basis, claw decimal.Decimal
		if err := rows.Scan(&l.ARN, &l.Folio, &l.Scheme, &l.AvgAUM, &l.TrailPct, &basis, &claw); err != nil {
			return nil, err
		}
		l.Brokerage, l.Clawback = commission.AccrualFromBasis(basis).Amount(), amount(claw)
		out = append(out, l)
	}
	return out, rows.Err()
}
