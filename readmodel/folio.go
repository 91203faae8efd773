package readmodel

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/xirr"
)

// LedgerTx is one ledger transaction of a folio (one allotted order leg).
type LedgerTx struct {
	ID        int64           `json:"id"`
	OrderID   string          `json:"order_id"`
	SwitchID  string          `json:"switch_id,omitempty"`
	Kind      string          `json:"kind"` // purchase, redemption, switch_out, switch_in
	Folio     string          `json:"folio"`
	Scheme    string          `json:"scheme_code"`
	NAVDate   fund.Date       `json:"nav_date"`
	NAV       decimal.Decimal `json:"nav"`
	Units     decimal.Decimal `json:"units"`
	Amount    decimal.Decimal `json:"amount"`
	StampDuty decimal.Decimal `json:"stamp_duty"`
	ExitLoad  decimal.Decimal `json:"exit_load"`
	Net       decimal.Decimal `json:"net_amount"`
	PaymentID string          `json:"payment_id,omitempty"`
	PostedAt  time.Time       `json:"posted_at"`
}

// Issues reports whether the transaction adds units to the folio.
func (t LedgerTx) Issues() bool { return t.Kind == "purchase" || t.Kind == "switch_in" }

// PaysOutSwitch reports whether the transaction is a switch payout: the
// switch-out's money paid to the investor after the switch-in failed. It
// moves no units and is no cash flow of its own (the switch-out already
// counted the money as leaving the scheme).
func (t LedgerTx) PaysOutSwitch() bool { return t.Kind == fund.KindSwitchPayout }

// CashFlow is the investor's cash flow of the transaction: money paid in
// (the gross amount, negative) or paid out (the net payout, positive: a
// redemption, an IDCW payout net of TDS); zero for a switch payout and for
// an IDCW reinvestment (the dividend never left the fund: counting it as
// paid in, or out, would bend the XIRR), and for a merger's legs (units
// moved from one scheme to another at their cost: no money moved).
func (t LedgerTx) CashFlow() decimal.Decimal {
	switch {
	case t.Kind == "idcw_reinvest", t.Kind == fund.KindMergerOut, t.Kind == fund.KindMergerIn:
		return decimal.Zero
	case t.Issues():
		return t.Amount.Neg()
	case t.PaysOutSwitch():
		return decimal.Zero
	}
	return t.Net
}

type lot struct {
	id      int64
	scheme  string
	navDate fund.Date
	units   decimal.Decimal // as allotted (the ledger transaction's units)
	cost    decimal.Decimal // as paid (the ledger transaction's gross amount)
}

type lotUse struct {
	lotID   int64
	navDate fund.Date // the consuming transaction's NAV date
	units   decimal.Decimal
}

// FolioLedger is everything the ledger holds for one folio, to be replayed
// to any date.
type FolioLedger struct {
	Folio      string
	InvestorID string
	Investor   Investor   // the folio's owner (PII sealed)
	Txs        []LedgerTx // by NAV date, then id
	UnitsScale map[string]int32
	lots       []lot
	uses       []lotUse
}

const txColumns = `t.id, t.order_id, coalesce(t.switch_id, ''), t.kind, t.folio_no, t.scheme_code, t.nav_date, t.nav, t.units,
	t.amount, t.stamp_duty, t.exit_load, t.net_amount, coalesce(t.payment_id, ''), t.posted_at`

func scanTx(row pgx.Row) (LedgerTx, error) {
	var t LedgerTx
	var d time.Time
	err := row.Scan(&t.ID, &t.OrderID, &t.SwitchID, &t.Kind, &t.Folio, &t.Scheme, &d, &t.NAV, &t.Units,
		&t.Amount, &t.StampDuty, &t.ExitLoad, &t.Net, &t.PaymentID, &t.PostedAt)
	t.NAVDate = fund.DateOf(d)
	return t, err
}

// LoadFolio reads a folio's ledger in one round trip. ErrNotFound: no such
// folio.
func (s *Store) LoadFolio(ctx context.Context, folio string) (*FolioLedger, error) {
	b := &pgx.Batch{}
	l := &FolioLedger{Folio: folio, UnitsScale: map[string]int32{}}
	txByID := map[int64]int{}
	b.Queue(`SELECT i.id, i.name, i.email, i.address, i.tax_country, i.pan_enc, i.bank_account_enc
		FROM folios f JOIN investors i ON i.id = f.investor_id WHERE f.folio_no = $1`, folio).QueryRow(func(row pgx.Row) error {
		v := &l.Investor
		err := row.Scan(&v.ID, &v.Name, &v.Email, &v.Address, &v.TaxCountry, &v.PANSealed, &v.BankAccountSealed)
		l.InvestorID = v.ID
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("folio %s: %w", folio, ErrNotFound)
		}
		return err
	})
	b.Queue(`SELECT `+txColumns+` FROM ledger_transactions t WHERE t.folio_no = $1 ORDER BY t.nav_date, t.id`, folio).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			t, err := scanTx(rows)
			if err != nil {
				return err
			}
			txByID[t.ID] = len(l.Txs)
			l.Txs = append(l.Txs, t)
		}
		return rows.Err()
	})
	// Through the folio's transactions: holding_lots' own folio index is
	// partial (open lots only), its ledger_tx_id is unique.
	b.Queue(`SELECT l.id, l.ledger_tx_id FROM ledger_transactions t JOIN holding_lots l ON l.ledger_tx_id = t.id
		WHERE t.folio_no = $1`, folio).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id, txID int64
			if err := rows.Scan(&id, &txID); err != nil {
				return err
			}
			i, ok := txByID[txID]
			if !ok {
				return fmt.Errorf("lot %d: ledger transaction %d is not in folio %s", id, txID, folio)
			}
			t := l.Txs[i]
			l.lots = append(l.lots, lot{id: id, scheme: t.Scheme, navDate: t.NAVDate, units: t.Units, cost: t.Amount})
		}
		return rows.Err()
	})
	b.Queue(`SELECT c.lot_id, t.nav_date, c.units FROM lot_consumptions c JOIN ledger_transactions t ON t.id = c.ledger_tx_id
		WHERE t.folio_no = $1`, folio).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var u lotUse
			var d time.Time
			if err := rows.Scan(&u.lotID, &d, &u.units); err != nil {
				return err
			}
			u.navDate = fund.DateOf(d)
			l.uses = append(l.uses, u)
		}
		return rows.Err()
	})
	b.Queue(`SELECT scheme_code, units_scale FROM scheme_terms
		WHERE scheme_code IN (SELECT scheme_code FROM ledger_transactions WHERE folio_no = $1)`, folio).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var c string
			var sc int16
			if err := rows.Scan(&c, &sc); err != nil {
				return err
			}
			l.UnitsScale[c] = int32(sc)
		}
		return rows.Err()
	})
	if err := s.PG.SendBatch(ctx, b).Close(); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("load folio %s: %w", folio, err)
	}
	return l, nil
}

// Scale returns the units scale of a scheme (3 unless scheme_terms says).
func (l *FolioLedger) Scale(scheme string) int32 {
	if s, ok := l.UnitsScale[scheme]; ok {
		return s
	}
	return fund.DefaultUnitsScale
}

// Position is a folio's holding in one scheme on a date.
type Position struct {
	Scheme   string
	Units    decimal.Decimal
	Invested decimal.Decimal // cost of the units still held
	Flows    []xirr.CashFlow // the investor's cash flows in this scheme up to the date
}

// on reports whether d is on or before asOf (nil: always).
func on(d fund.Date, asOf *fund.Date) bool { return asOf == nil || !d.After(*asOf) }

// PositionsAt replays the ledger to asOf (nil: everything): the lots
// acquired by then, less what redemptions dated by then consumed. Schemes
// that were ever held are all present, sorted by code, even at zero units.
func (l *FolioLedger) PositionsAt(asOf *fund.Date) []Position {
	used := map[int64]decimal.Decimal{}
	for _, u := range l.uses {
		if on(u.navDate, asOf) {
			used[u.lotID] = used[u.lotID].Add(u.units)
		}
	}
	by := map[string]*Position{}
	get := func(scheme string) *Position {
		p := by[scheme]
		if p == nil {
			p = &Position{Scheme: scheme}
			by[scheme] = p
		}
		return p
	}
	for _, lt := range l.lots {
		if !on(lt.navDate, asOf) {
			continue
		}
		p := get(lt.scheme)
		rem := lt.units.Sub(used[lt.id])
		p.Units = p.Units.Add(rem)
		p.Invested = p.Invested.Add(RemainingCost(lt.cost, lt.units, rem))
	}
	for _, t := range l.Txs {
		if on(t.NAVDate, asOf) && !t.PaysOutSwitch() {
			p := get(t.Scheme)
			p.Flows = append(p.Flows, xirr.CashFlow{Date: t.NAVDate, Amount: t.CashFlow()})
		}
	}
	out := make([]Position, 0, len(by))
	for _, p := range by {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scheme < out[j].Scheme })
	return out
}

// RemainingCost is the cost of rem of a lot's units: fund.LotCost, the one
// rule the ledger stores too (cost × rem / units, to the paisa, half up, from
// the lot as bought).
func RemainingCost(cost, units, rem decimal.Decimal) decimal.Decimal {
	paid, err := fund.AmountFromDecimal(cost, fund.RoundHalfUp) // a ledger amount: 2 decimals already
	if err != nil {
		return decimal.Zero
	}
	u, err1 := fund.UnitsFromDecimal(units, fund.MaxUnitsScale, fund.RoundHalfUp)
	r, err2 := fund.UnitsFromDecimal(rem, fund.MaxUnitsScale, fund.RoundHalfUp)
	if err1 != nil || err2 != nil {
		return decimal.Zero
	}
	return fund.LotCost(paid, u, r).Decimal()
}
