package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/tax"
)

var _ tax.IDCWStore = (*Store)(nil)

// Event topics of IDCW credits.
const (
	TopicIDCWPaid       = "idcw.paid"
	TopicIDCWReinvested = "idcw.reinvested"
)

// Declare implements tax.IDCWStore.
func (s *Store) Declare(ctx context.Context, d tax.Declared) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO idcw_declarations (id, scheme_code, record_date, ex_date, nav_date, per_unit, option, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		d.ID, d.Scheme, d.RecordDate.Time(), d.ExDate.Time(), d.NAVDate.Time(), d.PerUnit, string(d.Option), d.Source)
	if err != nil {
		return false, fmt.Errorf("tax: declare %s: %w", d.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	// Sent again: the same declaration is fine, a different one is not.
	have, err := s.Declaration(ctx, d.ID)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) { // the id is free: the scheme and record date are taken
			return false, fmt.Errorf("%w: %s already has a declaration for record date %s", tax.ErrDeclarationConflict, d.Scheme, d.RecordDate)
		}
		return false, err
	}
	if have.Scheme != d.Scheme || have.RecordDate != d.RecordDate || have.ExDate != d.ExDate || !have.PerUnit.Equal(d.PerUnit) || have.Option != d.Option {
		return false, fmt.Errorf("%w: %s is %s %s %s per unit", tax.ErrDeclarationConflict, d.ID, have.Scheme, have.RecordDate, have.PerUnit)
	}
	return false, nil
}

// Declaration implements tax.IDCWStore (pgx.ErrNoRows: none).
func (s *Store) Declaration(ctx context.Context, id string) (tax.Declared, error) {
	var d tax.Declared
	var rec, ex, nav time.Time
	var opt string
	err := s.Pool.QueryRow(ctx, `SELECT d.id, d.scheme_code, coalesce(s.amc, ''), d.record_date, d.ex_date, d.nav_date, d.per_unit, d.option, d.source
		FROM idcw_declarations d LEFT JOIN schemes s ON s.code = d.scheme_code WHERE d.id = $1`, id).
		Scan(&d.ID, &d.Scheme, &d.AMC, &rec, &ex, &nav, &d.PerUnit, &opt, &d.Source)
	if err != nil {
		return d, fmt.Errorf("tax: declaration %s: %w", id, err)
	}
	d.RecordDate, d.ExDate, d.NAVDate, d.Option = fund.DateOf(rec), fund.DateOf(ex), fund.DateOf(nav), tax.Option(opt)
	return d, nil
}

// Holders implements tax.IDCWStore: the lots acquired by the end of the
// record date less what transfers priced by then took from them.
func (s *Store) Holders(ctx context.Context, scheme string, rec fund.Date) ([]tax.Holder, error) {
	rows, err := s.Pool.Query(ctx, `
WITH lots AS (
    SELECT id, folio_no, units FROM holding_lots WHERE scheme_code = $1 AND nav_date <= $2
), used AS (
    SELECT c.lot_id, sum(c.units) AS units
    FROM ledger_transactions t JOIN lot_consumptions c ON c.ledger_tx_id = t.id
    WHERE t.scheme_code = $1 AND t.nav_date <= $2
    GROUP BY c.lot_id
)
SELECT l.folio_no, f.investor_id, coalesce(nullif(s.amc, ''), f.amc), i.tax_country = 'IN', coalesce(st.units_scale, 3),
       sum(l.units - coalesce(u.units, 0))
FROM lots l
LEFT JOIN used u ON u.lot_id = l.id
JOIN folios f ON f.folio_no = l.folio_no
JOIN investors i ON i.id = f.investor_id
LEFT JOIN schemes s ON s.code = $1
LEFT JOIN scheme_terms st ON st.scheme_code = $1
GROUP BY 1, 2, 3, 4, 5
HAVING sum(l.units - coalesce(u.units, 0)) > 0
ORDER BY 1`, scheme, rec.Time())
	if err != nil {
		return nil, fmt.Errorf("tax: holders of %s on %s: %w", scheme, rec, err)
	}
	defer rows.Close()
	var out []tax.Holder
	for rows.Next() {
		var h tax.Holder
		var scale int16
		var units decimal.Decimal
		if err := rows.Scan(&h.Folio, &h.InvestorID, &h.AMC, &h.Resident, &scale, &units); err != nil {
			return nil, err
		}
		if h.Units, err = fund.UnitsFromDecimal(units, int32(scale), fund.NoRounding); err != nil {
			return nil, fmt.Errorf("tax: folio %s: %w", h.Folio, err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// ExNAV implements tax.IDCWStore (the NAV as applied: 4 decimals).
func (s *Store) ExNAV(ctx context.Context, scheme string, date fund.Date) (fund.NAV, int32, bool, error) {
	var nav decimal.Decimal
	var scale int16
	err := s.Pool.QueryRow(ctx, `SELECT n.nav, coalesce((SELECT units_scale FROM scheme_terms WHERE scheme_code = $1), 3)
		FROM navs n WHERE n.scheme_code = $1 AND n.nav_date = $2`, scheme, date.Time()).Scan(&nav, &scale)
	if errors.Is(err, pgx.ErrNoRows) {
		return fund.NAV{}, 0, false, nil
	}
	if err != nil {
		return fund.NAV{}, 0, false, fmt.Errorf("tax: NAV of %s on %s: %w", scheme, date, err)
	}
	n, err := fund.AppliedNAV(nav)
	return n, int32(scale), err == nil, err
}

// Credit implements tax.IDCWStore.
func (s *Store) Credit(ctx context.Context, d tax.Declared, h tax.Holder, decide func(fund.Amount) (tax.CreditPlan, error)) (bool, error) {
	written := false
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// Step 3 of the ledger's lock order: the investor's folios, in
		// folio order (their IDCW from the AMC this year is read under them).
		if _, err := tx.Exec(ctx, `SELECT folio_no FROM folios WHERE investor_id = $1 ORDER BY folio_no FOR NO KEY UPDATE`, h.InvestorID); err != nil {
			return fmt.Errorf("lock folios: %w", err)
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM idcw_credits WHERE declaration_id = $1 AND folio_no = $2)`, d.ID, h.Folio).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		fy := ftax.FYOf(d.ExDate)
		var prior decimal.Decimal
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(gross), 0) FROM idcw_credits
			WHERE investor_id = $1 AND amc = $2 AND credit_date BETWEEN $3 AND $4`, h.InvestorID, h.AMC, fy.First().Time(), fy.Last().Time()).Scan(&prior); err != nil {
			return err
		}
		priorA, err := fund.AmountFromDecimal(prior, fund.NoRounding)
		if err != nil {
			return err
		}
		p, err := decide(priorA)
		if err != nil {
			return err
		}
		if err := writeCredit(ctx, tx, p); err != nil {
			return err
		}
		written = true
		return nil
	})
	return written, err
}

// creditEvent is the payload of idcw.paid and idcw.reinvested.
type creditEvent struct {
	EventID       string `json:"event_id"`
	Declaration   string `json:"declaration_id"`
	Folio         string `json:"folio"`
	InvestorID    string `json:"investor_id"`
	Scheme        string `json:"scheme_code"`
	RecordDate    string `json:"record_date"`
	ExDate        string `json:"ex_date"`
	UnitsHeld     string `json:"units_held"`
	PerUnit       string `json:"per_unit"`
	Gross         string `json:"gross"`
	TDSSection    string `json:"tds_section"`
	TDS           string `json:"tds"`
	Net           string `json:"net"`
	TxID          int64  `json:"ledger_tx_id"`
	NAVDate       string `json:"nav_date,omitempty"`
	NAV           string `json:"nav,omitempty"`
	StampDuty     string `json:"stamp_duty,omitempty"`
	UnitsAllotted string `json:"units_allotted,omitempty"`
}

// writeCredit writes the credit's rows under the locks taken: the order
// request and leg (the lineage: what, for whom, why), the ledger
// transaction and postings, the lot and holding of a reinvestment, the
// credit, then the outbox events and the audit rows (step 7, last).
func writeCredit(ctx context.Context, tx pgx.Tx, p tax.CreditPlan) error {
	d, h := p.Decl, p.Holder
	id := "IDCW-" + d.ID + "-" + h.Folio
	kind, units, amount, duty, net := fund.KindIDCWPayout, decimal.Zero, p.Gross.Decimal(), decimal.Zero, p.TDS.Net.Decimal()
	navDate := d.ExDate
	var nav decimal.Decimal
	if r := p.Reinvest; r != nil {
		// like a purchase: amount is what bought the lot (stamp duty in),
		// net what bought units
		kind, units, amount, duty, net, navDate, nav = "idcw_reinvest", r.Units.Decimal(), p.TDS.Net.Decimal(), r.Duty.Decimal(), r.Invested.Decimal(), r.NAVDate, r.NAV.Decimal()
	} else {
		// a payout prices nothing, but the row names a NAV: the last one on
		// or before the ex-date (its lineage in navs), else the rate
		var on time.Time
		err := tx.QueryRow(ctx, `SELECT nav_date, round(nav, 4) FROM navs WHERE scheme_code = $1 AND nav_date <= $2 ORDER BY nav_date DESC LIMIT 1`,
			d.Scheme, d.ExDate.Time()).Scan(&on, &nav)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			nav = d.PerUnit
		case err != nil:
			return err
		default:
			navDate = fund.DateOf(on)
		}
	}
	body, _ := json.Marshal(map[string]string{"declaration_id": d.ID, "folio": h.Folio, "scheme": d.Scheme, "kind": kind,
		"record_date": d.RecordDate.String(), "units_held": h.Units.String(), "per_unit": d.PerUnit.String()})
	sum := sha256.Sum256(body)
	now := time.Now().UTC()
	if err := lpg.Requests.Insert(ctx, tx, lpg.RequestRow{ID: id, Kind: kind, Body: string(body), BodySHA256: hex.EncodeToString(sum[:]),
		Source: "idcw:" + d.ID, Status: "accepted", ReceivedAt: now}); err != nil {
		return err
	}
	var txID int64
	if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('ledger_transactions', 'id'))`).Scan(&txID); err != nil {
		return err
	}
	amt := amount
	if amt.Sign() <= 0 { // orders.amount > 0: a credit of nothing names the rate instead
		amt = d.PerUnit
	}
	if err := lpg.Orders.Insert(ctx, tx, lpg.OrderRow{ID: id, RequestID: id, Kind: kind, InvestorID: h.InvestorID, Folio: h.Folio, Scheme: d.Scheme,
		Amount: &amt, PlacedAt: now, Status: fund.Allotted, NAVDate: navDate, NAVRule: "idcw", NAVReason: "IDCW " + d.ID + ": ex-date " + d.ExDate.String(), TxID: txID}); err != nil {
		return err
	}
	if err := lpg.Transactions.Insert(ctx, tx, lpg.TxRow{ID: txID, OrderID: id, Kind: kind, Folio: h.Folio, Scheme: d.Scheme, NAVDate: navDate,
		NAV: nav, Units: units, Amount: amount, StampDuty: duty, Net: net, PostedAt: now}); err != nil {
		return err
	}
	for i, ps := range p.Postings {
		if _, err := tx.Exec(ctx, `INSERT INTO ledger_postings (tx_id, seq, account, asset, amount) VALUES ($1, $2, $3, $4, $5)`,
			txID, i, ps.Account, ps.Asset, ps.Amount); err != nil {
			return fmt.Errorf("posting %d: %w", i, err)
		}
	}
	if r := p.Reinvest; r != nil && r.Units.Sign() > 0 {
		// the holding's row after the folio's lock (step 6), as PostAllotment writes a purchase's
		if _, err := tx.Exec(ctx, `INSERT INTO holding_lots (folio_no, scheme_code, ledger_tx_id, nav_date, nav, units, units_remaining, cost)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`, h.Folio, d.Scheme, txID, r.NAVDate.Time(), r.NAV.Decimal(), r.Units.Decimal(), p.TDS.Net.Decimal()); err != nil {
			return fmt.Errorf("lot: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO holdings (folio_no, scheme_code, units, invested, last_tx_id) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (folio_no, scheme_code) DO UPDATE SET units = holdings.units + excluded.units,
				invested = holdings.invested + excluded.invested, last_tx_id = excluded.last_tx_id, updated_at = now()`,
			h.Folio, d.Scheme, r.Units.Decimal(), p.TDS.Net.Decimal(), txID); err != nil {
			return fmt.Errorf("holding: %w", err)
		}
	}
	rate, _ := decimal.NewFromString(p.TDS.RatePct)
	option := string(tax.Payout)
	if p.Reinvest != nil {
		option = string(tax.Reinvest)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO idcw_credits (declaration_id, folio_no, investor_id, amc, credit_date, units, gross,
			tds_section, tds_rate_pct, tds, net, option, ledger_tx_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		d.ID, h.Folio, h.InvestorID, h.AMC, d.ExDate.Time(), h.Units.Decimal(), p.Gross.Decimal(), p.TDS.Section, rate,
		p.TDS.Tax.Decimal(), p.TDS.Net.Decimal(), option, txID); err != nil {
		return fmt.Errorf("credit: %w", err)
	}

	topic := TopicIDCWPaid
	ev := creditEvent{Declaration: d.ID, Folio: h.Folio, InvestorID: h.InvestorID, Scheme: d.Scheme, RecordDate: d.RecordDate.String(),
		ExDate: d.ExDate.String(), UnitsHeld: h.Units.String(), PerUnit: d.PerUnit.String(), Gross: p.Gross.String(),
		TDSSection: p.TDS.Section, TDS: p.TDS.Tax.String(), Net: p.TDS.Net.String(), TxID: txID}
	type outRow struct {
		id, topic string
		payload   any
	}
	// Every credit is a ledger transaction: transactions.completed (facts,
	// notifications, analytics' check) carries the row as written, like
	// any other completed transaction. A payout moves no units: amount is
	// the gross, net what reached the bank after TDS.
	at := now.Format(time.RFC3339Nano)
	completed := fund.TransactionCompleted{EventID: fund.TopicTransactions + ":" + id, TxID: txID, OrderID: id, RequestID: id, Kind: kind,
		Folio: h.Folio, InvestorID: h.InvestorID, SchemeCode: d.Scheme, NAVDate: navDate.String(), NAV: nav.StringFixed(4), Units: units.String(),
		Amount: amount.StringFixed(2), StampDuty: duty.StringFixed(2), ExitLoad: "0.00", NetAmount: net.StringFixed(2), PlacedAt: at, PostedAt: at}
	var out []outRow
	if r := p.Reinvest; r != nil {
		topic = TopicIDCWReinvested
		ev.NAVDate, ev.NAV, ev.StampDuty, ev.UnitsAllotted = r.NAVDate.String(), r.NAV.String(), r.Duty.String(), r.Units.String()
		completed.NAV, completed.Units = r.NAV.String(), r.Units.String()
	}
	out = append(out, outRow{completed.EventID, fund.TopicTransactions, completed})
	ev.EventID = topic + ":" + d.ID + ":" + h.Folio
	out = append(out, outRow{ev.EventID, topic, ev})
	for _, o := range out {
		b, err := json.Marshal(o.payload)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING`,
			o.id, o.topic, h.Folio, string(b)); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	return postgres.AppendAudits(ctx, tx, "", []postgres.AuditEntry{
		{Entity: "ledger_tx", ID: fmt.Sprint(txID), Action: "posted", Payload: ev},
		{Entity: "idcw_credit", ID: d.ID + ":" + h.Folio, Action: topic, Payload: ev},
	})
}

// Credits implements tax.IDCWStore.
func (s *Store) Credits(ctx context.Context, investor string, from, to fund.Date) ([]ftax.Credit, error) {
	rows, err := s.Pool.Query(ctx, `SELECT credit_date, amc, tds_section, tds_rate_pct, gross, tds, net FROM idcw_credits
		WHERE investor_id = $1 AND credit_date BETWEEN $2 AND $3 ORDER BY credit_date, declaration_id, folio_no`, investor, from.Time(), to.Time())
	if err != nil {
		return nil, fmt.Errorf("tax: credits of %s: %w", investor, err)
	}
	defer rows.Close()
	var out []ftax.Credit
	for rows.Next() {
		var c ftax.Credit
		var on time.Time
		var rate, gross, tds, net decimal.Decimal
		if err := rows.Scan(&on, &c.AMC, &c.TDS.Section, &rate, &gross, &tds, &net); err != nil {
			return nil, err
		}
		c.Date, c.TDS.RatePct = fund.DateOf(on), rate.String()
		if c.TDS.Gross, err = fund.AmountFromDecimal(gross, fund.NoRounding); err != nil {
			return nil, err
		}
		if c.TDS.Tax, err = fund.AmountFromDecimal(tds, fund.NoRounding); err != nil {
			return nil, err
		}
		if c.TDS.Net, err = fund.AmountFromDecimal(net, fund.NoRounding); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
