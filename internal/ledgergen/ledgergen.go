// Package ledgergen writes a large synthetic ledger straight into the money
// path's tables (the ledger's own with ledger/pgstore's columns and rows): investors, folios, schemes with their NAV history,
// order requests and allotted orders, captured payments, ledger
// transactions with balanced postings, FIFO lots and their consumptions,
// and holdings — millions of rows, for scale tests and benchmarks of what
// reads the ledger (folio-recon). internal/ledgerfix is its small
// counterpart for hand-checked fixtures (row by row, one transaction).
//
// Rows are generated folio by folio from a seed (the same options give the
// same ledger) and streamed with one COPY per table, all tables at once.
// The rows are consistent by construction (units from fund.Allot, FIFO lot
// consumption, every transaction balanced per asset); the per-row foreign
// key and balance triggers are skipped for speed (session_replication_role
// = replica, which needs a superuser), and Check verifies the same
// invariants set-wise afterwards. Run it on a database nobody else writes
// to: it takes ledger and lot ids from the sequences in one block.
package ledgergen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger/pgstore"
)

// Options shape the ledger.
type Options struct {
	Folios          int       // number of folios (one investor owns two)
	SchemesPerFolio int       // average schemes held per folio (1..2n-1, at most a whole AMC); default 2
	TxnsPerHolding  int       // average transactions per folio and scheme (1..2n-1); default 5
	Schemes         int       // schemes in all, spread over AMCs; default 40
	AMCs            int       // default 8
	End             fund.Date // the last NAV date; default today (UTC)
	Days            int       // calendar days of history before End; default 730
	Seed            uint64
	Prefix          string // folio and order id prefix; default "G"
	Log             *slog.Logger
	// LotsOnly writes what capital gains reads (schemes, NAVs, investors,
	// folios, ledger transactions, lots and their consumptions) and skips
	// the order requests, orders, payments, postings and holdings: about
	// three rows in four at scale, for the capital-gains benchmark's setup.
	// Check does not hold on such a ledger (it has no postings).
	LotsOnly bool
}

func (o *Options) defaults() {
	if o.SchemesPerFolio <= 0 {
		o.SchemesPerFolio = 2
	}
	if o.TxnsPerHolding <= 0 {
		o.TxnsPerHolding = 5
	}
	if o.Schemes <= 0 {
		o.Schemes = 40
	}
	if o.AMCs <= 0 {
		o.AMCs = 8
	}
	if o.AMCs > o.Schemes {
		o.AMCs = o.Schemes
	}
	if o.End.IsZero() {
		o.End = fund.DateOf(time.Now().UTC())
	}
	if o.Days <= 0 {
		o.Days = 730
	}
	if o.Prefix == "" {
		o.Prefix = "G"
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Stats counts the rows written.
type Stats struct {
	Investors    int64         `json:"investors"`
	Folios       int64         `json:"folios"`
	Schemes      int64         `json:"schemes"`
	NAVs         int64         `json:"navs"`
	Orders       int64         `json:"orders"`
	Payments     int64         `json:"payments"`
	Transactions int64         `json:"ledger_transactions"`
	Postings     int64         `json:"postings"`
	Lots         int64         `json:"lots"`
	Consumptions int64         `json:"lot_consumptions"`
	Holdings     int64         `json:"holdings"`
	Took         time.Duration `json:"-"`
	Seconds      float64       `json:"seconds"`
}

// Scheme is a generated scheme (also what gen rta needs to know of it).
type Scheme struct {
	Code, Name, AMC, Category, ISIN string
	navs                            []fund.NAV // by business-day index
}

var amcNames = []string{"Aarohan Mutual Fund", "Bodhi Mutual Fund", "Chandra Mutual Fund", "Dhruv Mutual Fund",
	"Ekam Mutual Fund", "Falguni Mutual Fund", "Gagan Mutual Fund", "Himalaya Mutual Fund", "Indus Mutual Fund",
	"Jharna Mutual Fund", "Kaveri Mutual Fund", "Lakshya Mutual Fund"}

var categories = []string{"Equity Scheme - Flexi Cap Fund", "Equity Scheme - Large Cap Fund", "Debt Scheme - Corporate Bond Fund",
	"Hybrid Scheme - Balanced Advantage", "Other Scheme - Index Funds", "Equity Scheme - ELSS"}

// table is one COPY stream.
type table struct {
	name string
	cols []string
	ch   chan []any
	n    int64
}

func newTable(name string, cols ...string) *table {
	return &table{name: name, cols: cols, ch: make(chan []any, 4096)}
}

// Generate writes the ledger. It fails if the database already holds rows
// with the same scheme codes or folio numbers.
func Generate(ctx context.Context, pool *pgxpool.Pool, opt Options) (Stats, error) {
	opt.defaults()
	if opt.Folios <= 0 {
		return Stats{}, errors.New("ledgergen: Folios must be positive")
	}
	t0 := time.Now()
	days := businessDays(opt.End, opt.Days)
	schemes := makeSchemes(opt, len(days))

	// One block of ids from each sequence.
	maxTx := int64(opt.Folios) * int64(min(opt.SchemesPerFolio*2-1, opt.Schemes/opt.AMCs+1)) * int64(opt.TxnsPerHolding*2)
	var txBase, lotBase int64
	if err := pool.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('ledger_transactions', 'id')),
		nextval(pg_get_serial_sequence('holding_lots', 'id'))`).Scan(&txBase, &lotBase); err != nil {
		return Stats{}, fmt.Errorf("ledgergen: sequences: %w", err)
	}
	if _, err := pool.Exec(ctx, `SELECT setval(pg_get_serial_sequence('ledger_transactions', 'id'), $1),
		setval(pg_get_serial_sequence('holding_lots', 'id'), $2)`, txBase+maxTx, lotBase+maxTx); err != nil {
		return Stats{}, fmt.Errorf("ledgergen: reserve ids: %w", err)
	}
	// Each scheme's NAVs come from a file of its own (nav_sources), all
	// added in one statement.
	files, shas := make([]string, len(schemes)), make([]string, len(schemes))
	for i, s := range schemes {
		files[i], shas[i] = navFile(s.Code)
	}
	ids := make([]int32, 0, len(schemes))
	rows, err := pool.Query(ctx, `SELECT nav_source(f, s) FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(f, s, i) ORDER BY i`, files, shas)
	if err == nil {
		ids, err = pgx.AppendRows(ids, rows, pgx.RowTo[int32])
	}
	if err == nil && len(ids) != len(schemes) {
		err = fmt.Errorf("%d ids for %d files", len(ids), len(schemes))
	}
	if err != nil {
		return Stats{}, fmt.Errorf("ledgergen: nav sources: %w", err)
	}
	sources := make(map[string]int32, len(schemes))
	for i, s := range schemes {
		sources[s.Code] = ids[i]
	}

	tabs := struct {
		schemes, navs, navLatest, investors, folios, requests, orders, payments, txns, postings, lots, uses, holdings *table
	}{
		schemes:   newTable("schemes", "code", "name", "isin_growth", "category", "scheme_type", "amc", "version", "valid_from"),
		navs:      newTable("navs", "scheme_code", "nav_date", "nav", "source_id", "source_line"),
		navLatest: newTable("nav_latest", "scheme_code", "nav_date", "nav", "source_file", "source_sha256", "source_line"),
		investors: newTable("investors", "id", "name"),
		folios:    newTable("folios", "folio_no", "investor_id", "amc"),
		// The ledger's own tables: their columns are ledger/pgstore's.
		requests: newTable(pgstore.Requests.Name, pgstore.Requests.Columns...),
		orders:   newTable(pgstore.Orders.Name, pgstore.Orders.Columns...),
		payments: newTable(pgstore.Payments.Name, pgstore.Payments.Columns...),
		txns:     newTable(pgstore.Transactions.Name, pgstore.Transactions.Columns...),
		postings: newTable(pgstore.Postings.Name, pgstore.Postings.Columns...),
		lots:     newTable(pgstore.Lots.Name, pgstore.Lots.Columns...),
		uses:     newTable(pgstore.Consumptions.Name, pgstore.Consumptions.Columns...),
		holdings: newTable(pgstore.Holdings.Name, pgstore.Holdings.Columns...),
	}
	all := []*table{tabs.schemes, tabs.navs, tabs.navLatest, tabs.investors, tabs.folios, tabs.requests, tabs.orders, tabs.payments,
		tabs.txns, tabs.postings, tabs.lots, tabs.uses, tabs.holdings}

	skip := map[*table]bool{}
	if opt.LotsOnly {
		for _, tb := range []*table{tabs.requests, tabs.orders, tabs.payments, tabs.postings, tabs.holdings} {
			skip[tb] = true
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, tb := range all {
		tb := tb
		if skip[tb] {
			continue
		}
		g.Go(func() error { return copyTable(gctx, pool, tb) })
	}
	g.Go(func() error {
		defer func() {
			for _, tb := range all {
				close(tb.ch)
			}
		}()
		send := func(tb *table, row ...any) error {
			if skip[tb] {
				return nil
			}
			select {
			case tb.ch <- row:
				tb.n++
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		// Schemes and their NAVs.
		for _, s := range schemes {
			if err := send(tabs.schemes, s.Code, s.Name, s.ISIN, s.Category, "Open Ended Schemes", s.AMC, 1, days[0].Time()); err != nil {
				return err
			}
			file, sha := navFile(s.Code)
			for i, d := range days {
				if err := send(tabs.navs, s.Code, d.Time(), s.navs[i].Decimal(), sources[s.Code], i+2); err != nil {
					return err
				}
			}
			last := len(days) - 1
			if err := send(tabs.navLatest, s.Code, days[last].Time(), s.navs[last].Decimal(), file, sha, last+2); err != nil {
				return err
			}
		}
		byAMC := map[string][]*Scheme{}
		var amcs []string
		for i := range schemes {
			s := &schemes[i]
			if _, ok := byAMC[s.AMC]; !ok {
				amcs = append(amcs, s.AMC)
			}
			byAMC[s.AMC] = append(byAMC[s.AMC], s)
		}
		gen := &folioGen{opt: opt, days: days, byAMC: byAMC, amcs: amcs, nextTx: txBase, nextLot: lotBase, send: send, t: &tabs, skip: skip}
		for i := 0; i < opt.Folios; i++ {
			if err := gen.folio(i); err != nil {
				return err
			}
			if (i+1)%100000 == 0 {
				opt.Log.Info("ledgergen: folios generated", "folios", i+1, "transactions", tabs.txns.n)
			}
		}
		if gen.nextTx > txBase+maxTx {
			return fmt.Errorf("ledgergen: %d transactions overran the reserved id block of %d", gen.nextTx-txBase, maxTx)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return Stats{}, err
	}
	for _, st := range []string{"investors", "folios", "schemes", "navs", "order_requests", "orders", "payments",
		"ledger_transactions", "ledger_postings", "holding_lots", "lot_consumptions", "holdings"} {
		if _, err := pool.Exec(ctx, "ANALYZE "+st); err != nil {
			return Stats{}, fmt.Errorf("ledgergen: analyze %s: %w", st, err)
		}
	}
	st := Stats{Investors: tabs.investors.n, Folios: tabs.folios.n, Schemes: tabs.schemes.n, NAVs: tabs.navs.n, Orders: tabs.orders.n,
		Payments: tabs.payments.n, Transactions: tabs.txns.n, Postings: tabs.postings.n, Lots: tabs.lots.n,
		Consumptions: tabs.uses.n, Holdings: tabs.holdings.n, Took: time.Since(t0)}
	st.Seconds = st.Took.Seconds()
	return st, nil
}

// copyTable streams one table's rows with COPY on a connection of its own,
// with the per-row triggers (foreign keys, the deferred balance check) off.
func copyTable(ctx context.Context, pool *pgxpool.Pool, tb *table) (err error) {
	drain := func() {
		// So the generator is not stuck on a full channel.
		go func() {
			for range tb.ch {
			}
		}()
	}
	// A connection of its own, outside the pool: every table streams at once,
	// more than a pool's few connections.
	cfg := pool.Config()
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		drain()
		return fmt.Errorf("ledgergen: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if cfg.AfterConnect != nil {
		if err := cfg.AfterConnect(ctx, conn); err != nil {
			drain()
			return err
		}
	}
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		drain()
		return fmt.Errorf("ledgergen: bulk load needs a superuser (SET session_replication_role): %w", err)
	}
	var cur []any
	_, err = conn.CopyFrom(ctx, pgx.Identifier{tb.name}, tb.cols, pgx.CopyFromFunc(func() ([]any, error) {
		row, ok := <-tb.ch
		if !ok {
			return nil, nil
		}
		cur = row
		return row, nil
	}))
	if err != nil {
		drain()
		return fmt.Errorf("ledgergen: copy %s (row %v): %w", tb.name, cur, err)
	}
	return nil
}

// businessDays returns the weekdays of the days before end (inclusive).
func businessDays(end fund.Date, n int) []fund.Date {
	var out []fund.Date
	for d := end.AddDays(-n); !d.After(end); d = d.AddDays(1) {
		if fund.IsWeekday(d) {
			out = append(out, d)
		}
	}
	return out
}

// makeSchemes invents schemes with a NAV for every business day: a seeded
// random walk of at most ±1.5 % a day, exact to 4 decimals.
func makeSchemes(opt Options, ndays int) []Scheme {
	r := rand.New(rand.NewPCG(opt.Seed, 0x5c4e3e))
	out := make([]Scheme, opt.Schemes)
	for i := range out {
		amc := amcNames[i%opt.AMCs%len(amcNames)]
		cat := categories[r.IntN(len(categories))]
		code := fmt.Sprintf("%d", 900001+i)
		// The name is the AMC's short name and the category's own part,
		// after "Debt Scheme - " etc. (the prefixes differ in length).
		_, kind, _ := strings.Cut(cat, " - ")
		s := Scheme{Code: code, AMC: amc, Category: cat, ISIN: fmt.Sprintf("INF9%02dZ%05dX", i%opt.AMCs, i),
			Name: fmt.Sprintf("%s %s %d - Direct Plan - Growth", strings.TrimSuffix(amc, " Mutual Fund"), kind, i)}
		nav := int64(100000 + r.IntN(4900000)) // 10.0000 .. 500.0000
		s.navs = make([]fund.NAV, ndays)
		for d := 0; d < ndays; d++ {
			step := nav * int64(r.IntN(301)-150) / 10000
			if nav+step > 1000 {
				nav += step
			}
			n, _ := fund.NAVFromDecimal(decimal.New(nav, -4), fund.NoRounding)
			s.navs[d] = n
		}
		out[i] = s
	}
	return out
}

// Schemes returns the schemes Generate makes for opt (their codes, names,
// AMCs and ISINs), without touching a database.
func Schemes(opt Options) []Scheme {
	opt.defaults()
	return makeSchemes(opt, 0)
}

type folioGen struct {
	opt     Options
	days    []fund.Date
	byAMC   map[string][]*Scheme
	amcs    []string
	nextTx  int64
	nextLot int64
	send    func(tb *table, row ...any) error
	skip    map[*table]bool // tables not written (LotsOnly): their rows are not even made
	t       *struct {
		schemes, navs, navLatest, investors, folios, requests, orders, payments, txns, postings, lots, uses, holdings *table
	}
}

type lot struct {
	id           int64
	navDate      fund.Date
	nav          fund.NAV
	txID         int64
	units, cost  decimal.Decimal // as bought
	rem, remCost decimal.Decimal // what is left after redemptions
}

// folio generates folio i: its investor (every second folio), the folio,
// and per scheme held a history of purchases and redemptions.
func (g *folioGen) folio(i int) error {
	r := rand.New(rand.NewPCG(g.opt.Seed, uint64(i)+1))
	t := g.t
	inv := fmt.Sprintf("INV-%s%08d", g.opt.Prefix, i/2)
	folio := FolioNo(g.opt.Prefix, i)
	amc := g.amcs[r.IntN(len(g.amcs))]
	if i%2 == 0 {
		if err := g.send(t.investors, inv, fmt.Sprintf("Investor %d", i/2)); err != nil {
			return err
		}
	}
	if err := g.send(t.folios, folio, inv, amc); err != nil {
		return err
	}
	pool := g.byAMC[amc]
	k := min(1+r.IntN(2*g.opt.SchemesPerFolio-1), len(pool))
	picked := r.Perm(len(pool))[:k]
	seq := 0
	for _, pi := range picked {
		s := pool[pi]
		n := 1 + r.IntN(2*g.opt.TxnsPerHolding-1)
		dayIdx := make([]int, n)
		for j := range dayIdx {
			dayIdx[j] = r.IntN(len(g.days))
		}
		slices.Sort(dayIdx)
		var lots []*lot
		held := decimal.Zero
		invested := decimal.Zero
		var lastTx int64
		for j, di := range dayIdx {
			seq++
			date, nav := g.days[di], s.navs[di]
			orderID := fmt.Sprintf("%s-%s-%d", g.opt.Prefix, folio, seq)
			placed := date.Time().Add(4 * time.Hour) // 09:30 IST: before every cut-off
			txID := g.nextTx
			g.nextTx++
			redeem := j > 0 && held.IsPositive() && r.IntN(10) < 3
			var units decimal.Decimal
			if redeem {
				share := decimal.New(int64(10+r.IntN(51)), -2) // 10 %..60 % of what is held
				units = held.Mul(share).RoundDown(fund.DefaultUnitsScale)
				redeem = units.IsPositive()
			}
			if !redeem {
				gross := fund.AmountFromPaise(int64(50000 + r.IntN(20000000)))
				a := fund.Allot(gross, nav, fund.DefaultUnitsScale, date, fund.Purchase)
				units = a.Units.Decimal()
				if err := g.purchase(orderID, inv, folio, s.Code, date, placed, nav, gross, a, txID); err != nil {
					return err
				}
				lots = append(lots, &lot{id: g.nextLot, navDate: date, nav: nav, txID: txID, units: units, cost: gross.Decimal(),
					rem: units, remCost: gross.Decimal()})
				g.nextLot++
				held = held.Add(units)
				invested = invested.Add(gross.Decimal())
			} else {
				u, _ := fund.UnitsFromDecimal(units, fund.DefaultUnitsScale, fund.NoRounding)
				value := u.Value(nav).Decimal()
				if err := g.redemption(orderID, inv, folio, s.Code, date, placed, nav, units, value, txID); err != nil {
					return err
				}
				left := units
				for _, l := range lots {
					if left.IsZero() {
						break
					}
					if l.rem.IsZero() {
						continue
					}
					take := decimal.Min(left, l.rem)
					// The lot keeps the cost of what is left of it, by the
					// ledger's one rule (fund.LotCost, from the lot as bought).
					before := l.remCost
					l.rem = l.rem.Sub(take)
					l.remCost = fund.LotCost(fund.AmountFromPaise(l.cost.Shift(2).IntPart()),
						fund.MustUnits(l.units.String(), fund.DefaultUnitsScale), fund.MustUnits(l.rem.String(), fund.DefaultUnitsScale)).Decimal()
					invested = invested.Sub(before.Sub(l.remCost))
					left = left.Sub(take)
					if err := g.send(t.uses, pgstore.Consumptions.Values(pgstore.ConsumptionRow{TxID: txID, LotID: l.id, Units: take,
						DaysHeld: date.DaysSince(l.navDate)})...); err != nil {
						return err
					}
				}
				held = held.Sub(units)
			}
			lastTx = txID
		}
		// Lots go out once the holding's history is done: COPY cannot update
		// units_remaining afterwards.
		for _, l := range lots {
			if err := g.send(t.lots, pgstore.Lots.Values(pgstore.LotRow{ID: l.id, Folio: folio, Scheme: s.Code, TxID: l.txID, NAVDate: l.navDate,
				NAV: l.nav.Decimal(), Units: l.units, Remaining: l.rem, Cost: l.remCost})...); err != nil {
				return err
			}
		}
		if err := g.send(t.holdings, pgstore.Holdings.Values(pgstore.HoldingRow{Folio: folio, Scheme: s.Code, Units: held, Invested: invested,
			LastTxID: lastTx})...); err != nil {
			return err
		}
	}
	return nil
}

func (g *folioGen) purchase(orderID, inv, folio, scheme string, date fund.Date, placed time.Time, nav fund.NAV, gross fund.Amount, a fund.Allotment, txID int64) error {
	t := g.t
	payID := "pay_" + orderID
	units := a.Units.Decimal()
	amount := gross.Decimal()
	tx := pgstore.Transactions.Values(pgstore.TxRow{ID: txID, OrderID: orderID, Kind: "purchase", Folio: folio,
		Scheme: scheme, NAVDate: date, NAV: nav.Decimal(), Units: units, Amount: amount, StampDuty: a.Duty.Decimal(),
		Net: a.Invested.Decimal(), PaymentID: payID, PostedAt: placed.Add(time.Hour)})
	if g.opt.LotsOnly { // nor the order's other rows
		return g.send(t.txns, tx...)
	}
	body := fmt.Sprintf(`{"order_id":%q,"kind":"purchase","folio":%q,"scheme":%q,"amount":%q}`, orderID, folio, scheme, gross)
	sum := sha256.Sum256([]byte(body))
	if err := g.send(t.requests, pgstore.Requests.Values(pgstore.RequestRow{ID: orderID, Kind: "purchase", Body: body,
		BodySHA256: hex.EncodeToString(sum[:]), Source: "gen", Status: "accepted", ReceivedAt: placed})...); err != nil {
		return err
	}
	if err := g.send(t.orders, pgstore.Orders.Values(pgstore.OrderRow{ID: orderID, RequestID: orderID, Kind: "purchase", InvestorID: inv,
		Folio: folio, Scheme: scheme, Amount: &amount, PlacedAt: placed, FundsAt: &placed, Status: fund.Allotted, NAVDate: date,
		NAVRule: "standard", NAVReason: "generated ledger", PaymentID: payID, TxID: txID})...); err != nil {
		return err
	}
	if err := g.send(t.payments, pgstore.Payments.Values(pgstore.PaymentRow{ID: payID, Gateway: "razorpay", OrderID: orderID,
		NotesOrderID: orderID, Amount: amount, Currency: "INR", Status: fund.PaymentCaptured, RealisedAt: placed,
		LastEventID: "gen_" + orderID, LastEventAt: placed, MatchStatus: "matched"})...); err != nil {
		return err
	}
	if err := g.send(t.txns, tx...); err != nil {
		return err
	}
	ps := []fund.Posting{
		{Account: fund.AccountFolio(folio), Asset: fund.AssetUnits(scheme), Amount: units},
		{Account: fund.AccountSchemeUnits(scheme), Asset: fund.AssetUnits(scheme), Amount: units.Neg()},
		{Account: fund.AccountGateway("razorpay"), Asset: fund.AssetINR, Amount: gross.Decimal().Neg()},
		{Account: fund.AccountSchemeCash(scheme), Asset: fund.AssetINR, Amount: a.Invested.Decimal()},
	}
	if !a.Duty.IsZero() {
		ps = append(ps, fund.Posting{Account: fund.AccountStampDuty, Asset: fund.AssetINR, Amount: a.Duty.Decimal()})
	}
	return g.postings(txID, ps)
}

func (g *folioGen) redemption(orderID, inv, folio, scheme string, date fund.Date, placed time.Time, nav fund.NAV, units, value decimal.Decimal, txID int64) error {
	t := g.t
	tx := pgstore.Transactions.Values(pgstore.TxRow{ID: txID, OrderID: orderID, Kind: "redemption", Folio: folio,
		Scheme: scheme, NAVDate: date, NAV: nav.Decimal(), Units: units, Amount: value, Net: value, PostedAt: placed.Add(time.Hour)})
	if g.opt.LotsOnly { // nor the order's other rows
		return g.send(t.txns, tx...)
	}
	body := fmt.Sprintf(`{"order_id":%q,"kind":"redemption","folio":%q,"scheme":%q,"units":%q}`, orderID, folio, scheme, units)
	sum := sha256.Sum256([]byte(body))
	if err := g.send(t.requests, pgstore.Requests.Values(pgstore.RequestRow{ID: orderID, Kind: "redemption", Body: body,
		BodySHA256: hex.EncodeToString(sum[:]), Source: "gen", Status: "accepted", ReceivedAt: placed})...); err != nil {
		return err
	}
	if err := g.send(t.orders, pgstore.Orders.Values(pgstore.OrderRow{ID: orderID, RequestID: orderID, Kind: "redemption", InvestorID: inv,
		Folio: folio, Scheme: scheme, Units: &units, PlacedAt: placed, Status: fund.Allotted, NAVDate: date,
		NAVRule: "standard", NAVReason: "generated ledger", TxID: txID})...); err != nil {
		return err
	}
	if err := g.send(t.txns, tx...); err != nil {
		return err
	}
	return g.postings(txID, []fund.Posting{
		{Account: fund.AccountFolio(folio), Asset: fund.AssetUnits(scheme), Amount: units.Neg()},
		{Account: fund.AccountSchemeUnits(scheme), Asset: fund.AssetUnits(scheme), Amount: units},
		{Account: fund.AccountSchemeCash(scheme), Asset: fund.AssetINR, Amount: value.Neg()},
		{Account: fund.AccountPayout(folio), Asset: fund.AssetINR, Amount: value},
	})
}

func (g *folioGen) postings(txID int64, ps []fund.Posting) error {
	if err := fund.CheckPostings(ps); err != nil {
		return fmt.Errorf("ledgergen: transaction %d: %w", txID, err)
	}
	for i, p := range ps {
		if err := g.send(g.t.postings, pgstore.Postings.Values(pgstore.PostingRow{TxID: txID, Seq: i, Posting: p})...); err != nil {
			return err
		}
	}
	return nil
}

// FolioNo is the folio number of folio i: CAMS-like "12345678/90".
func FolioNo(prefix string, i int) string {
	return fmt.Sprintf("%s%08d/%02d", prefix, 10000000+i, i%97)
}

// navFile is the file a generated scheme's NAVs name: its name and SHA-256.
func navFile(code string) (file, sha string) {
	file = "NAVAll_generated_" + code + ".txt"
	sum := sha256.Sum256([]byte(file))
	return file, hex.EncodeToString(sum[:])
}
