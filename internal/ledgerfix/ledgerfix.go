// Package ledgerfix writes small, consistent ledgers straight into the
// money path's tables (investors, folios, order requests, orders, payments
// with their webhook events, balanced ledger postings, FIFO lots, holdings,
// NAVs, audit rows) for the read side's tests, benchmarks and demo. It is
// not the allocator: amounts come from the spec, units from fund.Allot, and
// redemptions consume lots first in, first out without exit load.
package ledgerfix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Investor is an investor and their folios.
type Investor struct {
	ID, Name, Email, Address, TaxCountry string
	PAN, BankAccount                     string // sealed with Spec.Sealer before writing
	Folios                               []string
}

// Scheme is a scheme and its NAVs (each NAV date of a transaction needs one,
// here or, for a scheme not in the spec, in the navs table already).
type Scheme struct {
	Code, Name, AMC, Category string
	NAVs                      map[fund.Date]string // date → NAV
}

// Tx is one allotted order leg.
type Tx struct {
	Folio, Scheme string
	Kind          string    // purchase or redemption
	Date          fund.Date // the NAV date
	Amount        string    // purchase: gross paid (stamp duty included)
	Units         string    // redemption: units redeemed
}

// Spec is a whole fixture.
type Spec struct {
	Investors []Investor
	Schemes   []Scheme
	Txs       []Tx
	Sealer    *pii.Sealer // required when an investor has PAN or bank account
}

// Written is what Load wrote, for the test's own bookkeeping.
type Written struct {
	TxIDs     []int64  // ledger transaction id of Spec.Txs[i]
	OrderIDs  []string // order id of Spec.Txs[i]
	EventIDs  []string // webhook event id of Spec.Txs[i] (purchases)
	NAVSource map[string]string
}

type openLot struct {
	id      int64
	navDate fund.Date
	rem     decimal.Decimal
}

// Load writes spec in one transaction.
func Load(ctx context.Context, pool *pgxpool.Pool, spec Spec) (Written, error) {
	var w Written
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		w, err = load(ctx, tx, spec)
		return err
	})
	return w, err
}

func load(ctx context.Context, tx pgx.Tx, spec Spec) (Written, error) {
	w := Written{NAVSource: map[string]string{}}
	owner := map[string]string{}
	for _, inv := range spec.Investors {
		var pan, bank []byte
		var err error
		if inv.PAN != "" {
			if pan, err = spec.Sealer.Seal(inv.ID, "pan", inv.PAN); err != nil {
				return w, err
			}
		}
		if inv.BankAccount != "" {
			if bank, err = spec.Sealer.Seal(inv.ID, "bank_account", inv.BankAccount); err != nil {
				return w, err
			}
		}
		country := inv.TaxCountry
		if country == "" {
			country = "IN"
		}
		if _, err := tx.Exec(ctx, `INSERT INTO investors (id, name, email, address, tax_country, pan_enc, bank_account_enc)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, inv.ID, inv.Name, inv.Email, inv.Address, country, pan, bank); err != nil {
			return w, fmt.Errorf("investor %s: %w", inv.ID, err)
		}
		for _, f := range inv.Folios {
			owner[f] = inv.ID
			if _, err := tx.Exec(ctx, `INSERT INTO folios (folio_no, investor_id, amc) VALUES ($1, $2, 'Test AMC')`, f, inv.ID); err != nil {
				return w, fmt.Errorf("folio %s: %w", f, err)
			}
		}
	}
	navs := map[string]map[fund.Date]fund.NAV{}
	for _, s := range spec.Schemes {
		if _, err := tx.Exec(ctx, `INSERT INTO schemes (code, name, amc, category, version, valid_from) VALUES ($1, $2, $3, $4, 1, '2000-01-01')`,
			s.Code, s.Name, s.AMC, s.Category); err != nil {
			return w, fmt.Errorf("scheme %s: %w", s.Code, err)
		}
		navs[s.Code] = map[fund.Date]fund.NAV{}
		dates := make([]fund.Date, 0, len(s.NAVs))
		for d := range s.NAVs {
			dates = append(dates, d)
		}
		sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
		file := "NAVAll_fixture_" + s.Code + ".txt"
		sum := sha256.Sum256([]byte(file))
		sha := hex.EncodeToString(sum[:])
		w.NAVSource[s.Code] = sha
		for i, d := range dates {
			n := fund.MustNAV(s.NAVs[d])
			navs[s.Code][d] = n
			if _, err := tx.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_file, source_sha256, source_line) VALUES ($1, $2, $3, $4, $5, $6)`,
				s.Code, d.Time(), n.Decimal(), file, sha, i+2); err != nil {
				return w, fmt.Errorf("nav %s %s: %w", s.Code, d, err)
			}
		}
		if len(dates) > 0 {
			last := dates[len(dates)-1]
			if _, err := tx.Exec(ctx, `INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line) VALUES ($1, $2, $3, $4, $5, $6)`,
				s.Code, last.Time(), navs[s.Code][last].Decimal(), file, sha, len(dates)+1); err != nil {
				return w, err
			}
		}
	}
	lots := map[string][]*openLot{} // folio|scheme → open lots, FIFO
	held := map[string]decimal.Decimal{}
	cost := map[string]decimal.Decimal{}
	for i, t := range spec.Txs {
		inv, ok := owner[t.Folio]
		if !ok {
			return w, fmt.Errorf("tx %d: folio %s has no investor", i, t.Folio)
		}
		nav, ok := navs[t.Scheme][t.Date]
		if !ok { // a scheme already in the database (the demo's real NAVs)
			var d decimal.Decimal
			if err := tx.QueryRow(ctx, `SELECT nav FROM navs WHERE scheme_code = $1 AND nav_date = $2`, t.Scheme, t.Date.Time()).Scan(&d); err != nil {
				return w, fmt.Errorf("tx %d: no NAV of %s on %s: %w", i, t.Scheme, t.Date, err)
			}
			n, err := fund.NAVFromDecimal(d, fund.RoundHalfUp)
			if err != nil {
				return w, fmt.Errorf("tx %d: %w", i, err)
			}
			nav = n
		}
		orderID := fmt.Sprintf("ORD-%s-%d", t.Folio, i+1)
		placed := t.Date.Time().Add(9 * time.Hour) // 14:30 IST
		var txID int64
		if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('ledger_transactions', 'id'))`).Scan(&txID); err != nil {
			return w, err
		}
		body, _ := json.Marshal(map[string]string{"order_id": orderID, "folio": t.Folio, "scheme": t.Scheme, "kind": t.Kind, "amount": t.Amount, "units": t.Units})
		bsum := sha256.Sum256(body)
		if _, err := tx.Exec(ctx, `INSERT INTO order_requests (id, kind, body, body_sha256, source, status, received_at)
			VALUES ($1, $2, $3, $4, 'http', 'accepted', $5)`, orderID, t.Kind, string(body), hex.EncodeToString(bsum[:]), placed); err != nil {
			return w, fmt.Errorf("tx %d: order request: %w", i, err)
		}
		key := t.Folio + "|" + t.Scheme
		var units, amount, duty, net decimal.Decimal
		var postings []fund.Posting
		var payID, eventID string
		switch t.Kind {
		case "purchase":
			gross := fund.MustAmount(t.Amount)
			a := fund.Allot(gross, nav, fund.DefaultUnitsScale, t.Date, fund.Purchase)
			units, amount, duty, net = a.Units.Decimal(), gross.Decimal(), a.Duty.Decimal(), a.Invested.Decimal()
			payID, eventID = "pay_"+orderID, "evt_"+orderID
			if _, err := tx.Exec(ctx, `INSERT INTO orders (id, request_id, kind, investor_id, folio_no, scheme_code, amount, placed_at, funds_at,
				status, nav_date, nav_rule, nav_reason, payment_id, ledger_tx_id)
				VALUES ($1, $1, 'purchase', $2, $3, $4, $5, $6, $6, 'allotted', $7, 'standard', 'fixture', $8, $9)`,
				orderID, inv, t.Folio, t.Scheme, amount, placed, t.Date.Time(), payID, txID); err != nil {
				return w, fmt.Errorf("tx %d: order: %w", i, err)
			}
			ev, _ := json.Marshal(map[string]any{"event": "payment.captured", "payload": map[string]any{"payment": map[string]any{
				"entity": map[string]any{"id": payID, "amount": gross.Paise(), "currency": "INR", "status": "captured", "notes": map[string]string{"order_id": orderID}}}}})
			if _, err := tx.Exec(ctx, `INSERT INTO inbox (source, event_id, event_type, body, received_at, status, applied_at)
				VALUES ('razorpay', $1, 'payment.captured', $2, $3, 'applied', $3)`, eventID, ev, placed); err != nil {
				return w, fmt.Errorf("tx %d: inbox: %w", i, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO payments (id, gateway, order_id, amount, currency, status, status_rank, realised_at,
				realised_event_id, last_event_id, last_event_at, match_status)
				VALUES ($1, 'razorpay', $2, $3, 'INR', 'captured', 3, $4, $5, $5, $4, 'matched')`, payID, orderID, amount, placed, eventID); err != nil {
				return w, fmt.Errorf("tx %d: payment: %w", i, err)
			}
			postings = []fund.Posting{
				{Account: fund.AccountFolio(t.Folio), Asset: fund.AssetUnits(t.Scheme), Amount: units},
				{Account: fund.AccountSchemeUnits(t.Scheme), Asset: fund.AssetUnits(t.Scheme), Amount: units.Neg()},
				{Account: fund.AccountGateway("razorpay"), Asset: fund.AssetINR, Amount: amount.Neg()},
				{Account: fund.AccountSchemeCash(t.Scheme), Asset: fund.AssetINR, Amount: net},
			}
			if !duty.IsZero() {
				postings = append(postings, fund.Posting{Account: fund.AccountStampDuty, Asset: fund.AssetINR, Amount: duty})
			}
		case "redemption":
			u := fund.MustUnits(t.Units, fund.DefaultUnitsScale)
			units = u.Decimal()
			if held[key].LessThan(units) {
				return w, fmt.Errorf("tx %d: redeems %s units of %s, holds %s", i, units, key, held[key])
			}
			amount = u.Value(nav).Decimal()
			net = amount
			if _, err := tx.Exec(ctx, `INSERT INTO orders (id, request_id, kind, investor_id, folio_no, scheme_code, units, placed_at,
				status, nav_date, nav_rule, nav_reason, ledger_tx_id)
				VALUES ($1, $1, 'redemption', $2, $3, $4, $5, $6, 'allotted', $7, 'standard', 'fixture', $8)`,
				orderID, inv, t.Folio, t.Scheme, units, placed, t.Date.Time(), txID); err != nil {
				return w, fmt.Errorf("tx %d: order: %w", i, err)
			}
			postings = []fund.Posting{
				{Account: fund.AccountFolio(t.Folio), Asset: fund.AssetUnits(t.Scheme), Amount: units.Neg()},
				{Account: fund.AccountSchemeUnits(t.Scheme), Asset: fund.AssetUnits(t.Scheme), Amount: units},
				{Account: fund.AccountSchemeCash(t.Scheme), Asset: fund.AssetINR, Amount: amount.Neg()},
				{Account: fund.AccountPayout(t.Folio), Asset: fund.AssetINR, Amount: net},
			}
		default:
			return w, fmt.Errorf("tx %d: kind %q: purchase or redemption", i, t.Kind)
		}
		var pay any
		if payID != "" {
			pay = payID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ledger_transactions (id, order_id, kind, folio_no, scheme_code, nav_date, nav, units, amount,
			stamp_duty, exit_load, net_amount, payment_id, posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13)`,
			txID, orderID, t.Kind, t.Folio, t.Scheme, t.Date.Time(), nav.Decimal(), units, amount, duty, net, pay, placed.Add(time.Hour)); err != nil {
			return w, fmt.Errorf("tx %d: ledger: %w", i, err)
		}
		if err := fund.CheckPostings(postings); err != nil {
			return w, fmt.Errorf("tx %d: %w", i, err)
		}
		for j, p := range postings {
			if _, err := tx.Exec(ctx, `INSERT INTO ledger_postings (tx_id, seq, account, asset, amount) VALUES ($1, $2, $3, $4, $5)`,
				txID, j, p.Account, p.Asset, p.Amount); err != nil {
				return w, fmt.Errorf("tx %d: posting: %w", i, err)
			}
		}
		if t.Kind == "purchase" {
			var lotID int64
			if err := tx.QueryRow(ctx, `INSERT INTO holding_lots (folio_no, scheme_code, ledger_tx_id, nav_date, nav, units, units_remaining, cost)
				VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id`, t.Folio, t.Scheme, txID, t.Date.Time(), nav.Decimal(), units, amount).Scan(&lotID); err != nil {
				return w, fmt.Errorf("tx %d: lot: %w", i, err)
			}
			lots[key] = append(lots[key], &openLot{id: lotID, navDate: t.Date, rem: units})
			sort.SliceStable(lots[key], func(a, b int) bool { return lots[key][a].navDate.Before(lots[key][b].navDate) })
			held[key] = held[key].Add(units)
			cost[key] = cost[key].Add(amount)
		} else {
			left := units
			for _, l := range lots[key] {
				if left.IsZero() {
					break
				}
				if l.rem.IsZero() {
					continue
				}
				take := decimal.Min(left, l.rem)
				l.rem = l.rem.Sub(take)
				left = left.Sub(take)
				if _, err := tx.Exec(ctx, `INSERT INTO lot_consumptions (ledger_tx_id, lot_id, units, days_held, load_rate_pct, exit_load)
					VALUES ($1, $2, $3, $4, 0, 0)`, txID, l.id, take, t.Date.DaysSince(l.navDate)); err != nil {
					return w, fmt.Errorf("tx %d: consumption: %w", i, err)
				}
				if _, err := tx.Exec(ctx, `UPDATE holding_lots SET units_remaining = $2 WHERE id = $1`, l.id, l.rem); err != nil {
					return w, err
				}
			}
			held[key] = held[key].Sub(units)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO holdings (folio_no, scheme_code, units, invested, last_tx_id) VALUES ($1, $2, $3, 0, $4)
			ON CONFLICT (folio_no, scheme_code) DO UPDATE SET units = excluded.units, last_tx_id = excluded.last_tx_id, updated_at = now()`,
			t.Folio, t.Scheme, held[key], txID); err != nil {
			return w, fmt.Errorf("tx %d: holdings: %w", i, err)
		}
		if err := postgres.AppendAudit(ctx, tx, "ledger_tx", fmt.Sprint(txID), "posted",
			map[string]string{"order_id": orderID, "kind": t.Kind, "units": units.String(), "amount": amount.String()}); err != nil {
			return w, err
		}
		w.TxIDs = append(w.TxIDs, txID)
		w.OrderIDs = append(w.OrderIDs, orderID)
		w.EventIDs = append(w.EventIDs, eventID)
	}
	return w, nil
}
