// Package pgstore is the pools' Store in Postgres (migration 046). Journal
// entries, wallet locks, the outbox and audit go through wallet/pgstore's
// Tx, so pools post exactly as the wallet does.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	ledgerpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

// Store is pool.Store on a connection pool.
type Store struct{ Pool *pgxpool.Pool }

var _ pool.Store = Store{}

// InTx runs fn in one transaction.
func (s Store) InTx(ctx context.Context, fn func(pool.Tx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		return fn(Tx{Tx: walletpg.TxOf(tx), tx: tx})
	}))
}

// PoolIDs lists the pools.
func (s Store) PoolIDs(ctx context.Context) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id FROM pools ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Wallet reads a wallet.
func (s Store) Wallet(ctx context.Context, id string) (wallet.Wallet, bool, error) {
	return walletpg.Store{Pool: s.Pool}.Wallet(ctx, id)
}

// MemberViews lists a wallet's pools with their latest NAV and the value
// of the member's units (own + pending withdrawal) at it.
func (s Store) MemberViews(ctx context.Context, walletID string) ([]pool.MemberView, error) {
	rows, err := s.Pool.Query(ctx, `SELECT p.id, p.name, m.units, m.reinvest,
			coalesce((SELECT sum(r.units) FROM pool_requests r WHERE r.pool_id = p.id AND r.wallet_id = m.wallet_id
				AND r.kind = 'withdrawal' AND r.status = 'pending'), 0),
			n.nav, n.nav_date
		FROM pool_members m JOIN pools p ON p.id = m.pool_id
		LEFT JOIN pool_navs n ON n.pool_id = p.id AND n.nav_date = p.last_nav_date
		WHERE m.wallet_id = $1 ORDER BY p.id`, walletID)
	if err != nil {
		return nil, err
	}
	vs, err := scanMemberViews(rows)
	if err != nil || len(vs) == 0 {
		return vs, err
	}
	// Each pool's fee accrued and fees charged so far (pool-level).
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.Pool
	}
	// Fees charged: the paid invoices and the performance fees members
	// paid on exit (pool_exit_fees), each with its GST.
	rows, err = s.Pool.Query(ctx, `SELECT p.id, p.fee_accrued, coalesce((SELECT sum(total) FROM pool_fee_invoices i WHERE i.pool_id = p.id AND i.status = 'charged'), 0)
			+ coalesce((SELECT sum(total) FROM pool_exit_fees e WHERE e.pool_id = p.id), 0)
		FROM pools p WHERE p.id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fees := map[string][2]fund.Amount{}
	for rows.Next() {
		var id string
		var acc, charged decimal.Decimal
		if err := rows.Scan(&id, &acc, &charged); err != nil {
			return nil, err
		}
		a, err := amount(acc)
		if err != nil {
			return nil, err
		}
		c, err := amount(charged.Round(2))
		if err != nil {
			return nil, err
		}
		fees[id] = [2]fund.Amount{a, c}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range vs {
		f := fees[vs[i].Pool]
		vs[i].FeeAccrued, vs[i].FeesCharged = &f[0], &f[1]
	}
	return vs, nil
}

// scanMemberViews reads rows of pool id, name, units, reinvest, pending
// units, NAV and NAV date (both NULL: never priced).
func scanMemberViews(rows pgx.Rows) ([]pool.MemberView, error) {
	defer rows.Close()
	var out []pool.MemberView
	for rows.Next() {
		var v pool.MemberView
		var units, pending decimal.Decimal
		var nav decimal.NullDecimal
		var day *time.Time
		err := rows.Scan(&v.Pool, &v.Name, &units, &v.Reinvest, &pending, &nav, &day)
		if err != nil {
			return nil, err
		}
		if v.Units, err = units3(units); err != nil {
			return nil, err
		}
		if v.Pending, err = units3(pending); err != nil {
			return nil, err
		}
		if nav.Valid && day != nil {
			n, err := fund.NAVFromDecimal(nav.Decimal, fund.NoRounding)
			if err != nil {
				return nil, err
			}
			val := v.Units.Add(v.Pending).Value(n)
			v.NAV, v.Value, v.NAVDate = &n, &val, fund.DateOf(*day).String()
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// MemberViewsAt lists a wallet's pools at the end of day (IST): the
// units from the journal posted before then, the units a withdrawal had
// given up and was not priced by then, and the pool's NAV of the latest
// date at or before day. Journal times are the database's, as the
// statement's wallet lines.
func (s Store) MemberViewsAt(ctx context.Context, walletID string, day fund.Date) ([]pool.MemberView, error) {
	end := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, fund.IST()).AddDate(0, 0, 1)
	rows, err := s.Pool.Query(ctx, `WITH m AS (
			SELECT p.id, p.name, m.reinvest,
				coalesce((SELECT -sum(x.amount) FROM wallet_postings x JOIN wallet_transactions t ON t.id = x.tx_id
					WHERE x.account = 'pool_units:' || p.id || ':' || m.wallet_id AND x.asset = 'POOL:' || p.id AND t.posted_at < $2), 0) AS units,
				coalesce((SELECT sum(r.units) FROM pool_requests r
					JOIN wallet_transactions w ON w.kind = 'pool_withdrawal' AND w.ref = r.id AND w.posted_at < $2
					WHERE r.pool_id = p.id AND r.wallet_id = m.wallet_id AND r.kind = 'withdrawal'
					  AND NOT EXISTS (SELECT 1 FROM wallet_transactions x WHERE x.kind = 'pool_priced' AND x.ref = r.id AND x.posted_at < $2)), 0) AS pending
			FROM pool_members m JOIN pools p ON p.id = m.pool_id WHERE m.wallet_id = $1)
		SELECT m.id, m.name, m.units, m.reinvest, m.pending, n.nav, n.nav_date
		FROM m LEFT JOIN LATERAL (SELECT nav, nav_date FROM pool_navs WHERE pool_id = m.id AND nav_date <= $3
			ORDER BY nav_date DESC LIMIT 1) n ON true
		WHERE m.units <> 0 OR m.pending <> 0 ORDER BY m.id`, walletID, end, day.Time())
	if err != nil {
		return nil, err
	}
	return scanMemberViews(rows)
}

// Facts reads the pools' NAVs (a nav row's amount: the money in its
// purchases; a fee_accrued row's: the fee and GST the NAV deducted,
// pool.Fact), settled requests and distribution shares dated from..to, in
// one statement.
func (s Store) Facts(ctx context.Context, from, to fund.Date) ([]pool.Fact, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT nav_date, pool_id, 'nav', '', '', 'priced', nav, units, investing, holdings, cash
		FROM pool_navs WHERE nav_date BETWEEN $1 AND $2
		UNION ALL
		SELECT nav_date, pool_id, 'fee_accrued', '', '', 'priced', nav, units, fee_accrued, 0, 0
		FROM pool_navs WHERE fee_accrued <> 0 AND nav_date BETWEEN $1 AND $2
		UNION ALL
		SELECT nav_date, pool_id, kind, wallet_id, id, status, nav, coalesce(units, 0), coalesce(amount, 0), 0, 0
		FROM pool_requests WHERE status <> 'pending' AND nav_date BETWEEN $1 AND $2
		UNION ALL
		SELECT s.record_date, s.pool_id, CASE WHEN s.reinvested IS NULL THEN 'distribution' ELSE 'reinvestment' END, s.wallet_id,
			s.record_date::text, 'priced', d.nav, coalesce(s.reinvested, 0), s.amount, 0, 0
		FROM pool_distribution_shares s JOIN pool_distributions d USING (pool_id, record_date)
		WHERE s.record_date BETWEEN $1 AND $2
		ORDER BY 2, 1, 3, 4, 5`, from.Time(), to.Time())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pool.Fact
	for rows.Next() {
		var f pool.Fact
		var day time.Time
		var nav, units, amt, hold, cash decimal.Decimal
		if err := rows.Scan(&day, &f.Pool, &f.Kind, &f.Wallet, &f.Ref, &f.Status, &nav, &units, &amt, &hold, &cash); err != nil {
			return nil, err
		}
		f.Day = fund.DateOf(day)
		if f.NAV, err = fund.NAVFromDecimal(nav, fund.NoRounding); err != nil {
			return nil, err
		}
		if f.Units, err = units3(units); err != nil {
			return nil, err
		}
		for _, p := range []struct {
			d decimal.Decimal
			a *fund.Amount
		}{{amt, &f.Amount}, {hold, &f.Holdings}, {cash, &f.Cash}} {
			if *p.a, err = amount(p.d); err != nil {
				return nil, err
			}
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Tx is pool.Tx: the wallet's Tx for the journal, plus the pool tables.
type Tx struct {
	walletpg.Tx
	tx pgx.Tx
}

var _ pool.Tx = Tx{}

func units3(d decimal.Decimal) (fund.Units, error) {
	return fund.UnitsFromDecimal(d, managed.PoolUnitsScale, fund.NoRounding)
}

func amount(d decimal.Decimal) (fund.Amount, error) {
	return fund.AmountFromDecimal(d, fund.NoRounding)
}

// CreatePool inserts a pool (an existing id: created false).
func (t Tx) CreatePool(ctx context.Context, p pool.Pool) (bool, error) {
	var folio *string
	if p.Folio != "" {
		folio = &p.Folio
	}
	var model *string
	if p.Model != "" {
		model = &p.Model
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO pools (id, name, launch_nav, cutoff, folio_no, model_id) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO NOTHING`, p.ID, p.Name, p.Launch.Decimal(), p.Cutoff, folio, model)
	return tag.RowsAffected() == 1, err
}

// LockPool reads a pool locked for update.
func (t Tx) LockPool(ctx context.Context, id string) (pool.Pool, bool, error) {
	p := pool.Pool{ID: id}
	var launch, cash, units, accrued decimal.Decimal
	var last *time.Time
	err := t.tx.QueryRow(ctx, `SELECT name, cutoff, coalesce(folio_no, ''), coalesce(model_id, ''), launch_nav, cash, units, last_nav_date, fee_accrued
		FROM pools WHERE id = $1 FOR UPDATE`, id).Scan(&p.Name, &p.Cutoff, &p.Folio, &p.Model, &launch, &cash, &units, &last, &accrued)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	if last != nil {
		p.LastNAV = fund.DateOf(*last)
	}
	if p.Launch, err = fund.NAVFromDecimal(launch, fund.NoRounding); err != nil {
		return p, false, err
	}
	if p.Cash, err = amount(cash); err != nil {
		return p, false, err
	}
	if p.FeeAccrued, err = amount(accrued); err != nil {
		return p, false, err
	}
	p.Units, err = units3(units)
	return p, err == nil, err
}

// UpdatePool writes the pool's cash, units, last NAV date and fee accrued.
func (t Tx) UpdatePool(ctx context.Context, p pool.Pool) error {
	var last any
	if !p.LastNAV.IsZero() {
		last = p.LastNAV.Time()
	}
	_, err := t.tx.Exec(ctx, `UPDATE pools SET cash = $2, units = $3, last_nav_date = $4, fee_accrued = $5 WHERE id = $1`,
		p.ID, p.Cash.Decimal(), p.Units.Decimal(), last, p.FeeAccrued.Decimal())
	return err
}

// Member reads a member row locked.
func (t Tx) Member(ctx context.Context, poolID, walletID string) (pool.Holder, bool, error) {
	h := pool.Holder{Wallet: walletID}
	var u decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT units, reinvest FROM pool_members WHERE pool_id = $1 AND wallet_id = $2 FOR UPDATE`,
		poolID, walletID).Scan(&u, &h.Reinvest)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, err
	}
	h.Units, err = units3(u)
	return h, err == nil, err
}

// PutMember moves a member's units by delta, creating the row.
func (t Tx) PutMember(ctx context.Context, poolID, walletID string, delta fund.Units) error {
	// The row proposed for the insert is checked too, so it starts at
	// greatest(delta, 0); a negative delta only ever meets an existing row.
	_, err := t.tx.Exec(ctx, `INSERT INTO pool_members (pool_id, wallet_id, units) VALUES ($1, $2, greatest($3::numeric, 0))
		ON CONFLICT (pool_id, wallet_id) DO UPDATE SET units = pool_members.units + $3::numeric`,
		poolID, walletID, delta.Decimal())
	return err
}

// SetReinvest sets a member's reinvestment choice.
func (t Tx) SetReinvest(ctx context.Context, poolID, walletID string, reinvest bool) error {
	_, err := t.tx.Exec(ctx, `UPDATE pool_members SET reinvest = $3 WHERE pool_id = $1 AND wallet_id = $2`, poolID, walletID, reinvest)
	return err
}

const requestCols = `id, pool_id, wallet_id, kind, amount, units, received_at, nav_date, status, reason, nav`

func scanRequest(row pgx.Row) (pool.Request, error) {
	var r pool.Request
	var amt, units, nav decimal.NullDecimal
	var day time.Time
	if err := row.Scan(&r.ID, &r.Pool, &r.Wallet, &r.Kind, &amt, &units, &r.Received, &day, &r.Status, &r.Reason, &nav); err != nil {
		return r, err
	}
	r.NAVDate = fund.DateOf(day)
	var err error
	if amt.Valid {
		if r.Amount, err = amount(amt.Decimal); err != nil {
			return r, err
		}
	}
	if units.Valid {
		if r.Units, err = units3(units.Decimal); err != nil {
			return r, err
		}
	}
	if nav.Valid {
		r.NAV, err = fund.NAVFromDecimal(nav.Decimal, fund.NoRounding)
	}
	return r, err
}

// Request reads a request by id.
func (t Tx) Request(ctx context.Context, id string) (pool.Request, bool, error) {
	r, err := scanRequest(t.tx.QueryRow(ctx, `SELECT `+requestCols+` FROM pool_requests WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

func nullAmount(a fund.Amount) any {
	if a.Sign() == 0 {
		return nil
	}
	return a.Decimal()
}

func nullUnits(u fund.Units) any {
	if u.Sign() == 0 {
		return nil
	}
	return u.Decimal()
}

// InsertRequest inserts a pending request.
func (t Tx) InsertRequest(ctx context.Context, r pool.Request) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO pool_requests (id, pool_id, wallet_id, kind, amount, units, received_at, nav_date)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ID, r.Pool, r.Wallet, r.Kind, nullAmount(r.Amount), nullUnits(r.Units), r.Received, r.NAVDate.Time())
	return err
}

// Pending lists a pool's pending requests through a date, by wallet, id.
func (t Tx) Pending(ctx context.Context, poolID string, through fund.Date) ([]pool.Request, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+requestCols+` FROM pool_requests
		WHERE pool_id = $1 AND status = 'pending' AND nav_date <= $2 ORDER BY wallet_id, id`, poolID, through.Time())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pool.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Settle marks a request priced or refused.
func (t Tx) Settle(ctx context.Context, r pool.Request) error {
	tag, err := t.tx.Exec(ctx, `UPDATE pool_requests SET status = $2, reason = $3, nav = $4, amount = $5, units = $6, priced_at = now()
		WHERE id = $1 AND status = 'pending'`, r.ID, r.Status, r.Reason, r.NAV.Decimal(), nullAmount(r.Amount), nullUnits(r.Units))
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("request %s is not pending", r.ID)
	}
	return err
}

// Holdings reads the folio's holdings valued at the day's NAVs (the NAV
// rounded half-up to 4 decimals, as allotment applies it).
func (t Tx) Holdings(ctx context.Context, folio string, day fund.Date) ([]managed.PoolHolding, []string, error) {
	// the folio's ledger lock (step 3 of the ledger's order; no ledger
	// transaction takes a pool's), held to the end of this transaction: an
	// allotment can then not move an order from Investing into the
	// holdings between the two reads, which would leave it in neither
	if _, err := ledgerpg.TxOf(t.tx).LockFolios(ctx, []string{folio}); err != nil {
		return nil, nil, err
	}
	rows, err := t.tx.Query(ctx, `SELECT h.scheme_code, h.units, n.nav FROM holdings h
		LEFT JOIN navs n ON n.scheme_code = h.scheme_code AND n.nav_date = $2
		WHERE h.folio_no = $1 AND h.units > 0 ORDER BY h.scheme_code`, folio, day.Time())
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var hs []managed.PoolHolding
	var missing []string
	for rows.Next() {
		var scheme string
		var u decimal.Decimal
		var nav decimal.NullDecimal
		if err := rows.Scan(&scheme, &u, &nav); err != nil {
			return nil, nil, err
		}
		if !nav.Valid {
			missing = append(missing, scheme)
			continue
		}
		n, err := fund.AppliedNAV(nav.Decimal)
		if err != nil {
			return nil, nil, fmt.Errorf("scheme %s NAV: %w", scheme, err)
		}
		units, err := fund.UnitsFromDecimal(u, fund.MaxUnitsScale, fund.NoRounding)
		if err != nil {
			return nil, nil, err
		}
		hs = append(hs, managed.PoolHolding{Scheme: scheme, Units: units, NAV: n})
	}
	return hs, missing, rows.Err()
}

// NAV reads a pool's NAV of a day.
func (t Tx) NAV(ctx context.Context, poolID string, day fund.Date) (pool.DayNAV, bool, error) {
	n := pool.DayNAV{Pool: poolID, Date: day}
	var nav, hold, investing, cash, units, accrued decimal.Decimal
	var valueAfter, unitsAfter decimal.NullDecimal
	err := t.tx.QueryRow(ctx, `SELECT nav, holdings, investing, cash, units, launch, value_after, units_after, fee_accrued FROM pool_navs WHERE pool_id = $1 AND nav_date = $2`,
		poolID, day.Time()).Scan(&nav, &hold, &investing, &cash, &units, &n.Launch, &valueAfter, &unitsAfter, &accrued)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, false, nil
	}
	if err != nil {
		return n, false, err
	}
	if n.NAV, err = fund.NAVFromDecimal(nav, fund.NoRounding); err != nil {
		return n, false, err
	}
	if n.Holdings, err = amount(hold); err != nil {
		return n, false, err
	}
	if n.Investing, err = amount(investing); err != nil {
		return n, false, err
	}
	if n.Cash, err = amount(cash); err != nil {
		return n, false, err
	}
	if n.FeeAccrued, err = amount(accrued); err != nil {
		return n, false, err
	}
	if n.Units, err = units3(units); err != nil {
		return n, false, err
	}
	if valueAfter.Valid && unitsAfter.Valid { // NULL: a row from before migration 056
		va, err := amount(valueAfter.Decimal)
		if err != nil {
			return n, false, err
		}
		ua, err := units3(unitsAfter.Decimal)
		if err != nil {
			return n, false, err
		}
		n.ValueAfter, n.UnitsAfter = &va, &ua
	}
	return n, true, nil
}

// InsertNAV writes a day's NAV.
func (t Tx) InsertNAV(ctx context.Context, n pool.DayNAV) error {
	var va, ua any
	if n.ValueAfter != nil && n.UnitsAfter != nil {
		va, ua = n.ValueAfter.Decimal(), n.UnitsAfter.Decimal()
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO pool_navs (pool_id, nav_date, nav, holdings, investing, cash, units, launch, value_after, units_after, fee_accrued)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		n.Pool, n.Date.Time(), n.NAV.Decimal(), n.Holdings.Decimal(), n.Investing.Decimal(), n.Cash.Decimal(), n.Units.Decimal(), n.Launch, va, ua, n.FeeAccrued.Decimal())
	return err
}

// Holders lists the members with units (own + pending withdrawals), by
// wallet id.
func (t Tx) Holders(ctx context.Context, poolID string) ([]pool.Holder, error) {
	rows, err := t.tx.Query(ctx, `SELECT m.wallet_id, m.units + coalesce((SELECT sum(r.units) FROM pool_requests r
			WHERE r.pool_id = m.pool_id AND r.wallet_id = m.wallet_id AND r.kind = 'withdrawal' AND r.status = 'pending'), 0) AS u,
			m.reinvest
		FROM pool_members m WHERE m.pool_id = $1 ORDER BY m.wallet_id`, poolID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pool.Holder
	for rows.Next() {
		var h pool.Holder
		var u decimal.Decimal
		if err := rows.Scan(&h.Wallet, &u, &h.Reinvest); err != nil {
			return nil, err
		}
		if u.Sign() == 0 {
			continue
		}
		if h.Units, err = units3(u); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Distribution reads a distribution and its shares.
func (t Tx) Distribution(ctx context.Context, poolID string, day fund.Date) (pool.Distribution, bool, error) {
	d := pool.Distribution{EventID: pool.TopicDistributed + ":" + poolID + ":" + day.String(), Pool: poolID, RecordDate: day.String()}
	var amt, nav decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT amount, nav FROM pool_distributions WHERE pool_id = $1 AND record_date = $2`, poolID, day.Time()).Scan(&amt, &nav)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	if d.Amount, err = amount(amt); err != nil {
		return d, false, err
	}
	if d.NAV, err = fund.NAVFromDecimal(nav, fund.NoRounding); err != nil {
		return d, false, err
	}
	rows, err := t.tx.Query(ctx, `SELECT wallet_id, units, amount, reinvested FROM pool_distribution_shares
		WHERE pool_id = $1 AND record_date = $2 ORDER BY wallet_id`, poolID, day.Time())
	if err != nil {
		return d, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var s pool.ShareRow
		var u, a decimal.Decimal
		var re decimal.NullDecimal
		if err := rows.Scan(&s.Wallet, &u, &a, &re); err != nil {
			return d, false, err
		}
		if s.Units, err = units3(u); err != nil {
			return d, false, err
		}
		if s.Amount, err = amount(a); err != nil {
			return d, false, err
		}
		if re.Valid {
			r, err := units3(re.Decimal)
			if err != nil {
				return d, false, err
			}
			s.Reinvested = &r
		}
		d.Shares = append(d.Shares, s)
	}
	return d, true, rows.Err()
}

// InsertDistribution writes a distribution and its shares.
func (t Tx) InsertDistribution(ctx context.Context, d pool.Distribution) error {
	day, err := fund.ParseISODate(d.RecordDate)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO pool_distributions (pool_id, record_date, amount, nav) VALUES ($1, $2, $3, $4)`,
		d.Pool, day.Time(), d.Amount.Decimal(), d.NAV.Decimal()); err != nil {
		return err
	}
	wallets := make([]string, len(d.Shares))
	units := make([]decimal.Decimal, len(d.Shares))
	amts := make([]decimal.Decimal, len(d.Shares))
	re := make([]*decimal.Decimal, len(d.Shares))
	for i, s := range d.Shares {
		wallets[i], units[i], amts[i] = s.Wallet, s.Units.Decimal(), s.Amount.Decimal()
		if s.Reinvested != nil {
			r := s.Reinvested.Decimal()
			re[i] = &r
		}
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO pool_distribution_shares (pool_id, record_date, wallet_id, units, amount, reinvested)
		SELECT $1, $2, * FROM unnest($3::text[], $4::numeric[], $5::numeric[], $6::numeric[])`, d.Pool, day.Time(), wallets, units, amts, re)
	return err
}
