// Package ledgerfix writes small, consistent ledgers straight into the
// money path's tables (investors, folios, order requests, orders, payments
// with their webhook events, balanced ledger postings, FIFO lots, holdings,
// NAVs, audit rows) for the read side's tests, benchmarks and demo. It is
// not the allocator: amounts come from the spec, units from fund.Allot, and
// redemptions consume lots first in, first out without exit load. The
// ledger's own tables are written through ledger/pgstore's row tables, so
// their columns are listed in one place.
package ledgerfix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/ledger/pgstore"
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
			if _, err := tx.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ($1, $2, $3, nav_source($4, $5), $6)`,
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
	last := map[string]int64{} // folio|scheme → its last ledger transaction
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
		if err := pgstore.Requests.Insert(ctx, tx, pgstore.RequestRow{ID: orderID, Kind: t.Kind, Body: string(body),
			BodySHA256: hex.EncodeToString(bsum[:]), Source: "http", Status: "accepted", ReceivedAt: placed}); err != nil {
			return w, fmt.Errorf("tx %d: order request: %w", i, err)
		}
		key := t.Folio + "|" + t.Scheme
		var units, amount, duty, net decimal.Decimal
		var postings []fund.Posting
		var payID, eventID string
		order := pgstore.OrderRow{ID: orderID, RequestID: orderID, Kind: t.Kind, InvestorID: inv, Folio: t.Folio, Scheme: t.Scheme,
			PlacedAt: placed, Status: fund.Allotted, NAVDate: t.Date, NAVRule: "standard", NAVReason: "fixture", TxID: txID}
		switch t.Kind {
		case "purchase":
			gross := fund.MustAmount(t.Amount)
			a := fund.Allot(gross, nav, fund.DefaultUnitsScale, t.Date, fund.Purchase)
			units, amount, duty, net = a.Units.Decimal(), gross.Decimal(), a.Duty.Decimal(), a.Invested.Decimal()
			payID, eventID = "pay_"+orderID, "evt_"+orderID
			funds := t.Date.Time()
			order.Amount, order.FundsAt, order.PaymentID = &amount, &funds, payID
			if err := pgstore.Orders.Insert(ctx, tx, order); err != nil {
				return w, fmt.Errorf("tx %d: order: %w", i, err)
			}
			ev, _ := json.Marshal(map[string]any{"event": "payment.captured", "payload": map[string]any{"payment": map[string]any{
				"entity": map[string]any{"id": payID, "amount": gross.Paise(), "currency": "INR", "status": "captured", "notes": map[string]string{"order_id": orderID}}}}})
			if err := pgstore.Inbox.Insert(ctx, tx, pgstore.InboxRow{Source: "razorpay", EventID: eventID, EventType: "payment.captured",
				Body: ev, ReceivedAt: placed, Status: "applied", AppliedAt: placed}); err != nil {
				return w, fmt.Errorf("tx %d: inbox: %w", i, err)
			}
			if err := pgstore.Payments.Insert(ctx, tx, pgstore.PaymentRow{ID: payID, Gateway: "razorpay", OrderID: orderID, Amount: amount,
				Currency: "INR", Status: fund.PaymentCaptured, RealisedAt: placed, RealisedEventID: eventID, LastEventID: eventID,
				LastEventAt: placed, MatchStatus: "matched"}); err != nil {
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
			order.Units = &units
			if err := pgstore.Orders.Insert(ctx, tx, order); err != nil {
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
		if err := pgstore.Transactions.Insert(ctx, tx, pgstore.TxRow{ID: txID, OrderID: orderID, Kind: t.Kind, Folio: t.Folio, Scheme: t.Scheme,
			NAVDate: t.Date, NAV: nav.Decimal(), Units: units, Amount: amount, StampDuty: duty, Net: net, PaymentID: payID,
			PostedAt: placed.Add(time.Hour)}); err != nil {
			return w, fmt.Errorf("tx %d: ledger: %w", i, err)
		}
		if err := fund.CheckPostings(postings); err != nil {
			return w, fmt.Errorf("tx %d: %w", i, err)
		}
		for j, p := range postings {
			if err := pgstore.Postings.Insert(ctx, tx, pgstore.PostingRow{TxID: txID, Seq: j, Posting: p}); err != nil {
				return w, fmt.Errorf("tx %d: posting: %w", i, err)
			}
		}
		if t.Kind == "purchase" {
			var lotID int64
			if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('holding_lots', 'id'))`).Scan(&lotID); err != nil {
				return w, err
			}
			if err := pgstore.Lots.Insert(ctx, tx, pgstore.LotRow{ID: lotID, Folio: t.Folio, Scheme: t.Scheme, TxID: txID, NAVDate: t.Date,
				NAV: nav.Decimal(), Units: units, Remaining: units, Cost: amount}); err != nil {
				return w, fmt.Errorf("tx %d: lot: %w", i, err)
			}
			lots[key] = append(lots[key], &openLot{id: lotID, navDate: t.Date, rem: units})
			sort.SliceStable(lots[key], func(a, b int) bool { return lots[key][a].navDate.Before(lots[key][b].navDate) })
			held[key] = held[key].Add(units)
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
				if err := pgstore.Consumptions.Insert(ctx, tx, pgstore.ConsumptionRow{TxID: txID, LotID: l.id, Units: take,
					DaysHeld: t.Date.DaysSince(l.navDate)}); err != nil {
					return w, fmt.Errorf("tx %d: consumption: %w", i, err)
				}
				if _, err := tx.Exec(ctx, `UPDATE holding_lots SET units_remaining = $2 WHERE id = $1`, l.id, l.rem); err != nil {
					return w, err
				}
			}
			held[key] = held[key].Sub(units)
		}
		last[key] = txID
		if err := postgres.AppendAudit(ctx, tx, "ledger_tx", fmt.Sprint(txID), "posted",
			map[string]string{"order_id": orderID, "kind": t.Kind, "units": units.String(), "amount": amount.String()}); err != nil {
			return w, err
		}
		w.TxIDs = append(w.TxIDs, txID)
		w.OrderIDs = append(w.OrderIDs, orderID)
		w.EventIDs = append(w.EventIDs, eventID)
	}
	// Each holding once, as the transactions left it (invested is not kept:
	// the read side replays the lots).
	keys := make([]string, 0, len(held))
	for k := range held {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		folio, scheme, _ := strings.Cut(k, "|")
		if err := pgstore.Holdings.Insert(ctx, tx, pgstore.HoldingRow{Folio: folio, Scheme: scheme, Units: held[k], LastTxID: last[k]}); err != nil {
			return w, fmt.Errorf("holding %s: %w", k, err)
		}
	}
	return w, nil
}
