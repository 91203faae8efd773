// Package rtagen writes what the RTAs would send us: CAMS WBR22/WBR2 and
// KFintech MFSD203/MFSD201 feed files made from our own ledger as of a date
// (every folio's unit balance per scheme, every allotment as the RTA's
// transaction), and can inject differences at a given rate — the cases a
// reconciliation must find — listing each in a truth file. No real RTA
// file is public (they carry investors' personal data), so the demo and
// the tests of folio-recon feed on these.
//
// It streams the ledger sorted by folio and holds one folio at a time.
package rtagen

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/transforms/rta"
)

// Injection is a kind of difference between the RTA's books and ours.
type Injection string

// The injections. Each names the breaks a reconciliation must report for it
// (see Truth.Expect).
const (
	MissingFolio  Injection = "missing_folio"           // the holdings file leaves out one of our folios
	ExtraFolio    Injection = "extra_folio"             // the holdings file has a folio we do not have
	RoundingStep  Injection = "units_rounding_step"     // a balance one step of the last decimal off
	WholeTxn      Injection = "units_whole_transaction" // the RTA lacks one of our transactions (balance and transaction file)
	NAVDateShift  Injection = "nav_date_shift"          // a transaction at the next business day's NAV
	StampDutyDiff Injection = "stamp_duty_difference"   // a purchase's stamp duty one paisa off
	MergedScheme  Injection = "merged_scheme_code"      // a balance reported under another scheme's code
	DuplicateTxn  Injection = "duplicate_transaction"   // a transaction sent twice
)

// Injections lists every kind, in the order a folio falls back through
// them when the one drawn does not apply to it.
var Injections = []Injection{MissingFolio, ExtraFolio, RoundingStep, WholeTxn, NAVDateShift, StampDutyDiff, MergedScheme, DuplicateTxn}

// ParseInjection accepts an injection's name.
func ParseInjection(s string) (Injection, error) {
	for _, i := range Injections {
		if string(i) == s {
			return i, nil
		}
	}
	names := make([]string, len(Injections))
	for i, j := range Injections {
		names[i] = string(j)
	}
	return "", fmt.Errorf("unknown injection %q: one of %s", s, strings.Join(names, ", "))
}

// Options say what to write.
type Options struct {
	AsOf fund.Date // balances as of this date; transactions with NAV dates up to it
	From fund.Date // transactions from this NAV date (zero: the whole history)
	Out  string    // folder the feed files are written to (created if missing)
	// Truth is where the list of injected differences goes (JSON lines);
	// default Out/truth/truth_YYYYMMDD.jsonl — a subfolder, so a feed
	// source reading Out never takes it for a feed.
	Truth string
	Rate  float64     // fraction of folios given one difference (0: clean feeds)
	Types []Injection // the kinds drawn from; default all
	Seed  uint64
	Gzip  bool // write .gz files
	Log   *slog.Logger
}

// Expected is one break a reconciliation must report for an injection: its
// scope and type, the RTA and folio, and the subject (the scheme for a
// holding, our order id for a transaction), with the probable cause.
type Expected struct {
	Scope   string `json:"scope"`
	Type    string `json:"type"`
	RTA     string `json:"rta"`
	Folio   string `json:"folio"`
	Subject string `json:"subject"`
	Cause   string `json:"cause"`
}

// Truth is one injected difference.
type Truth struct {
	Injection Injection  `json:"injection"`
	RTA       string     `json:"rta"`
	Folio     string     `json:"folio"`
	Scheme    string     `json:"scheme,omitempty"`
	OrderID   string     `json:"order_id,omitempty"`
	Detail    string     `json:"detail"`
	Expect    []Expected `json:"expect"`
}

// Result says what was written.
type Result struct {
	Files        []string          `json:"files"`
	Truth        string            `json:"truth"`
	Folios       int               `json:"folios"`
	Holdings     map[string]int    `json:"holdings"`         // rows per RTA
	Transactions map[string]int    `json:"transactions"`     // rows per RTA
	SIP          map[string]int    `json:"sip_transactions"` // of those, SIP instalments
	Injected     map[Injection]int `json:"injected"`
	Mapped       int               `json:"schemes_registered"` // new rta_schemes rows
	Seconds      float64           `json:"seconds"`
}

// scheme is what the generator knows of a scheme.
type scheme struct {
	code, name, isin, amc string
	rta, product          string
	scale                 int32
	nav                   fund.NAV // latest NAV on or before AsOf; zero if none
}

// txn is one ledger transaction as read.
type txn struct {
	id                 int64
	order, kind        string
	scheme             string
	navDate            fund.Date
	nav                decimal.Decimal
	units              decimal.Decimal // signed
	amount, stampDuty  decimal.Decimal
	sipPlan            string // a SIP instalment's plan id; "" for any other transaction
	skip, dup, shifted bool
	dutyDelta          bool
}

// holding is one folio's history in one scheme.
type holding struct {
	scheme *scheme
	txns   []*txn
	units  decimal.Decimal // ledger, as of AsOf
	// What the RTA reports instead (set by injections).
	rtaUnits   decimal.Decimal
	rtaProduct string
	omit       bool
}

// Generate writes the feeds and the truth file.
func Generate(ctx context.Context, pool *pgxpool.Pool, opt Options) (Result, error) {
	t0 := time.Now()
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.AsOf.IsZero() || opt.Out == "" {
		return Result{}, errors.New("rtagen: AsOf and Out are required")
	}
	if opt.Rate < 0 || opt.Rate > 1 {
		return Result{}, fmt.Errorf("rtagen: rate %v outside 0..1", opt.Rate)
	}
	if len(opt.Types) == 0 {
		opt.Types = Injections
	}
	day := opt.AsOf.Time().Format("20060102")
	if opt.Truth == "" {
		opt.Truth = filepath.Join(opt.Out, "truth", "truth_"+day+".jsonl")
	}
	schemes, mapped, err := loadSchemes(ctx, pool, opt.AsOf)
	if err != nil {
		return Result{}, err
	}
	g := &gen{opt: opt, schemes: schemes, byRTA: map[string][]*scheme{},
		res: Result{Holdings: map[string]int{}, Transactions: map[string]int{}, SIP: map[string]int{}, Injected: map[Injection]int{}, Mapped: mapped}}
	for _, s := range schemes {
		g.byRTA[s.rta] = append(g.byRTA[s.rta], s)
	}
	for _, list := range g.byRTA {
		slices.SortFunc(list, func(a, b *scheme) int { return strings.Compare(a.code, b.code) })
	}
	if g.sipPlans, err = loadSIPOrders(ctx, pool); err != nil {
		return Result{}, err
	}
	if err := g.open(day); err != nil {
		return Result{}, err
	}
	defer g.abort()
	if err := g.stream(ctx, pool); err != nil {
		return Result{}, err
	}
	if err := g.finish(); err != nil {
		return Result{}, err
	}
	g.res.Seconds = time.Since(t0).Seconds()
	return g.res, nil
}

// loadSchemes reads the schemes our ledger holds, their RTA and code from
// rta_schemes, and registers a code for each scheme that has none: CAMS or
// KFintech by the AMC (one AMC, one RTA), the code made from the scheme
// code the way the RTAs build theirs (AMC letter, scheme, plan).
func loadSchemes(ctx context.Context, pool *pgxpool.Pool, asOf fund.Date) (map[string]*scheme, int, error) {
	rows, err := pool.Query(ctx, `
		WITH held AS (SELECT DISTINCT scheme_code FROM ledger_transactions)
		SELECT h.scheme_code, coalesce(s.name, ''), coalesce(s.isin_growth, ''), coalesce(s.amc, ''),
		       coalesce(m.rta, ''), coalesce(m.product_code, ''), coalesce(st.units_scale, 3),
		       (SELECT n.nav FROM navs n WHERE n.scheme_code = h.scheme_code AND n.nav_date <= $1 ORDER BY n.nav_date DESC LIMIT 1)
		FROM held h LEFT JOIN schemes s ON s.code = h.scheme_code
		LEFT JOIN rta_schemes m ON m.scheme_code = h.scheme_code
		LEFT JOIN scheme_terms st ON st.scheme_code = h.scheme_code`, asOf.Time())
	if err != nil {
		return nil, 0, fmt.Errorf("rtagen: schemes: %w", err)
	}
	out := map[string]*scheme{}
	for rows.Next() {
		s := &scheme{}
		var nav decimal.NullDecimal
		var scale int16
		if err := rows.Scan(&s.code, &s.name, &s.isin, &s.amc, &s.rta, &s.product, &scale, &nav); err != nil {
			rows.Close()
			return nil, 0, err
		}
		s.scale = int32(scale)
		if nav.Valid {
			if n, err := fund.NAVFromDecimal(nav.Decimal, fund.RoundHalfUp); err == nil {
				s.nav = n
			}
		}
		out[s.code] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var add [][]any
	for _, s := range out {
		if s.rta != "" {
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(s.amc))
		s.rta = fund.RTACAMS
		if h.Sum32()%2 == 1 {
			s.rta = fund.RTAKFintech
		}
		letter := "X"
		if s.amc != "" {
			letter = strings.ToUpper(s.amc[:1])
		}
		code := strings.ToUpper(s.code)
		if n, err := strconv.ParseInt(s.code, 10, 64); err == nil {
			code = strings.ToUpper(strconv.FormatInt(n, 36))
		}
		s.product = letter + code
		if s.rta == fund.RTAKFintech {
			s.product += "GP"
		}
		add = append(add, []any{s.rta, s.product, s.code})
	}
	if len(add) > 0 {
		b := &pgx.Batch{}
		for _, a := range add {
			b.Queue(`INSERT INTO rta_schemes (rta, product_code, scheme_code) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, a...)
		}
		if err := pool.SendBatch(ctx, b).Close(); err != nil {
			return nil, 0, fmt.Errorf("rtagen: register RTA scheme codes: %w", err)
		}
	}
	return out, len(add), nil
}

// loadSIPOrders reads which orders are SIP instalments: a purchase the
// plans service placed for an instalment of a SIP (plan_instalments.order_id
// is its order request; a purchase request has one leg). Held in memory
// rather than joined into the ledger's stream, whose folio order comes from
// its index.
func loadSIPOrders(ctx context.Context, pool *pgxpool.Pool) (map[string]string, error) {
	rows, err := pool.Query(ctx, `SELECT o.id, i.plan_id FROM plan_instalments i
		JOIN plans p ON p.id = i.plan_id AND p.kind = 'sip'
		JOIN orders o ON o.request_id = i.order_id AND o.kind = 'purchase'`)
	if err != nil {
		return nil, fmt.Errorf("rtagen: SIP instalments: %w", err)
	}
	out := map[string]string{}
	for rows.Next() {
		var order, plan string
		if err := rows.Scan(&order, &plan); err != nil {
			rows.Close()
			return nil, err
		}
		out[order] = plan
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rtagen: SIP instalments: %w", err)
	}
	return out, nil
}

// out is one feed file being written.
type out struct {
	name, tmp string
	f         *os.File
	gz        *gzip.Writer
	w         *rta.Writer
	rows      int
}

type gen struct {
	opt     Options
	schemes map[string]*scheme
	byRTA   map[string][]*scheme
	files   map[*rta.Layout]*out
	truth   *os.File
	truthW  *bufio.Writer
	res     Result
	// An extra folio (ExtraFolio) waiting to be written beside the folio
	// it was made from.
	pendingExtra      *holding
	pendingExtraFolio string
	// sipPlans maps the order id of each SIP instalment's purchase to its
	// plan: the RTA reports those as SIP transactions.
	sipPlans map[string]string
}

func (g *gen) open(day string) error {
	if err := os.MkdirAll(g.opt.Out, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(g.opt.Truth), 0o755); err != nil {
		return err
	}
	g.files = map[*rta.Layout]*out{}
	for _, spec := range []struct {
		l     *rta.Layout
		name  string
		delim byte
		crlf  bool
	}{
		{rta.CAMSWBR22, "CAMS_WBR22_" + day + ".csv", ',', true},
		{rta.CAMSWBR2, "CAMS_WBR2_" + day + ".csv", ',', true},
		{rta.KFinMFSD203, "KFIN_MFSD203_" + day + ".txt", '|', false},
		{rta.KFinMFSD201, "KFIN_MFSD201_" + day + ".txt", '|', false},
	} {
		o := &out{name: spec.name}
		if g.opt.Gzip {
			o.name += ".gz"
		}
		o.tmp = filepath.Join(g.opt.Out, "."+o.name+".tmp") // hidden until complete: feed sources skip dot files
		f, err := os.Create(o.tmp)
		if err != nil {
			return err
		}
		o.f = f
		var w io.Writer = f
		if g.opt.Gzip {
			o.gz = gzip.NewWriter(f)
			w = o.gz
		}
		if o.w, err = rta.NewWriter(w, spec.l, spec.delim, spec.crlf); err != nil {
			return err
		}
		g.files[spec.l] = o
	}
	f, err := os.Create(g.opt.Truth)
	if err != nil {
		return err
	}
	g.truth, g.truthW = f, bufio.NewWriter(f)
	return nil
}

// abort removes unfinished files (after an error; a no-op after finish).
func (g *gen) abort() {
	for _, o := range g.files {
		if o.f != nil {
			o.f.Close()
			os.Remove(o.tmp)
		}
	}
	if g.truth != nil {
		g.truth.Close()
	}
}

// finish flushes every file and moves it to its name; an RTA that has no
// rows of a kind gets no file (a header alone is refused by the parser).
func (g *gen) finish() error {
	for _, o := range g.files {
		if err := o.w.Flush(); err != nil {
			return err
		}
		if o.gz != nil {
			if err := o.gz.Close(); err != nil {
				return err
			}
		}
		if err := o.f.Close(); err != nil {
			return err
		}
		o.f = nil
		if o.rows == 0 {
			os.Remove(o.tmp)
			continue
		}
		if err := os.Rename(o.tmp, filepath.Join(g.opt.Out, o.name)); err != nil {
			return err
		}
		g.res.Files = append(g.res.Files, filepath.Join(g.opt.Out, o.name))
	}
	slices.Sort(g.res.Files)
	if err := g.truthW.Flush(); err != nil {
		return err
	}
	if err := g.truth.Close(); err != nil {
		return err
	}
	g.truth = nil
	g.res.Truth = g.opt.Truth
	return nil
}

// stream reads the ledger as of AsOf sorted by folio and writes each folio.
func (g *gen) stream(ctx context.Context, pool *pgxpool.Pool) error {
	// Investors' names, in the same folio order, read alongside.
	nconn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer nconn.Release()
	names, err := nconn.Query(ctx, `SELECT f.folio_no, i.name FROM folios f JOIN investors i ON i.id = f.investor_id ORDER BY f.folio_no`)
	if err != nil {
		return fmt.Errorf("rtagen: investors: %w", err)
	}
	defer names.Close()
	nameOf := func(folio string) string {
		for names.Next() {
			var f, n string
			if names.Scan(&f, &n) == nil && f == folio {
				return n
			}
		}
		return ""
	}

	rows, err := pool.Query(ctx, `SELECT id, order_id, kind, folio_no, scheme_code, nav_date, nav, units, amount, stamp_duty
		FROM ledger_transactions WHERE nav_date <= $1 ORDER BY folio_no, scheme_code, id`, g.opt.AsOf.Time())
	if err != nil {
		return fmt.Errorf("rtagen: ledger: %w", err)
	}
	defer rows.Close()
	var cur string
	var hs []*holding
	flush := func() error {
		if cur == "" {
			return nil
		}
		g.res.Folios++
		err := g.folio(cur, nameOf(cur), hs)
		hs = hs[:0]
		return err
	}
	for rows.Next() {
		var t txn
		var folio string
		var d time.Time
		if err := rows.Scan(&t.id, &t.order, &t.kind, &folio, &t.scheme, &d, &t.nav, &t.units, &t.amount, &t.stampDuty); err != nil {
			return err
		}
		t.navDate = fund.DateOf(d)
		if t.kind == fund.KindSwitchPayout || t.kind == fund.KindIDCWPayout {
			continue // money only: the RTA's mailback of units has no row for it (recon.NoUnits)
		}
		if t.kind == "purchase" {
			t.sipPlan = g.sipPlans[t.order]
		}
		if t.kind == "redemption" || t.kind == "switch_out" || t.kind == fund.KindMergerOut {
			t.units = t.units.Neg()
		}
		if folio != cur {
			if err := flush(); err != nil {
				return err
			}
			cur = folio
		}
		if n := len(hs); n == 0 || hs[n-1].scheme.code != t.scheme {
			s := g.schemes[t.scheme]
			if s == nil {
				return fmt.Errorf("rtagen: scheme %s of folio %s not loaded", t.scheme, folio)
			}
			hs = append(hs, &holding{scheme: s})
		}
		h := hs[len(hs)-1]
		tt := t
		h.txns = append(h.txns, &tt)
		h.units = h.units.Add(t.units)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rtagen: ledger: %w", err)
	}
	return flush()
}

// folio writes one folio's holdings and transactions, maybe with one
// injected difference.
func (g *gen) folio(folio, investor string, hs []*holding) error {
	for _, h := range hs {
		h.rtaUnits, h.rtaProduct, h.omit = h.units, h.scheme.product, false
	}
	var truth *Truth
	if g.opt.Rate > 0 {
		hsh := fnv.New64a()
		hsh.Write([]byte(folio))
		r := rand.New(rand.NewPCG(g.opt.Seed, hsh.Sum64()))
		if r.Float64() < g.opt.Rate {
			first := r.IntN(len(g.opt.Types))
			for k := 0; k < len(g.opt.Types) && truth == nil; k++ {
				truth = g.inject(r, g.opt.Types[(first+k)%len(g.opt.Types)], folio, hs)
			}
		}
	}
	for _, h := range hs {
		if err := g.writeHolding(folio, investor, h); err != nil {
			return err
		}
		for _, t := range h.txns {
			if err := g.writeTxn(folio, investor, h, t); err != nil {
				return err
			}
		}
	}
	if truth != nil {
		g.res.Injected[truth.Injection]++
		b, err := json.Marshal(truth)
		if err != nil {
			return err
		}
		g.truthW.Write(b)
		g.truthW.WriteByte('\n')
	}
	return nil
}

func (g *gen) inWindow(t *txn) bool {
	return !t.navDate.After(g.opt.AsOf) && (g.opt.From.IsZero() || !t.navDate.Before(g.opt.From))
}

// pick returns a random element of the candidates, or nil.
func pick[T any](r *rand.Rand, c []T) (T, bool) {
	var zero T
	if len(c) == 0 {
		return zero, false
	}
	return c[r.IntN(len(c))], true
}

// heldTxn is one transaction of a holding: what a transaction-level
// injection picks.
type heldTxn struct {
	h *holding
	t *txn
}

// pickTxn picks at random one of the holdings' transactions in the window
// for which keep holds (nil: any); false when there is none.
func (g *gen) pickTxn(r *rand.Rand, hs []*holding, keep func(h *holding, t *txn) bool) (heldTxn, bool) {
	var cs []heldTxn
	for _, h := range hs {
		for _, t := range h.txns {
			if g.inWindow(t) && (keep == nil || keep(h, t)) {
				cs = append(cs, heldTxn{h, t})
			}
		}
	}
	return pick(r, cs)
}

func exp(scope string, typ fund.BreakType, rtaName, folio, subject, cause string) Expected {
	return Expected{Scope: scope, Type: string(typ), RTA: rtaName, Folio: folio, Subject: subject, Cause: cause}
}

// inject applies one difference of kind to the folio, or returns nil when
// the folio has nothing it applies to.
func (g *gen) inject(r *rand.Rand, kind Injection, folio string, hs []*holding) *Truth {
	var positive []*holding
	for _, h := range hs {
		if h.units.IsPositive() {
			positive = append(positive, h)
		}
	}
	switch kind {
	case MissingFolio:
		if len(positive) == 0 {
			return nil
		}
		tr := &Truth{Injection: kind, RTA: positive[0].scheme.rta, Folio: folio, Detail: "the holdings file leaves the folio out"}
		for _, h := range hs {
			h.omit = true
			if !h.units.IsZero() {
				tr.Expect = append(tr.Expect, exp("holding", fund.MissingAtRTA, h.scheme.rta, folio, h.scheme.code, ""))
			}
		}
		return tr
	case ExtraFolio:
		h, ok := pick(r, hs)
		if !ok {
			return nil
		}
		extra := folio + "-X"
		units := decimal.New(int64(1000+r.IntN(999000)), -3)
		g.pendingExtra = &holding{scheme: h.scheme, units: decimal.Zero, rtaUnits: units, rtaProduct: h.scheme.product}
		g.pendingExtraFolio = extra
		return &Truth{Injection: kind, RTA: h.scheme.rta, Folio: extra, Scheme: h.scheme.code,
			Detail: fmt.Sprintf("the holdings file has folio %s (%s units of %s) that we do not have", extra, units, h.scheme.code),
			Expect: []Expected{exp("holding", fund.MissingInLedger, h.scheme.rta, extra, h.scheme.code, "")}}
	case RoundingStep:
		h, ok := pick(r, positive)
		if !ok {
			return nil
		}
		step := decimal.New(1, -h.scheme.scale)
		h.rtaUnits = h.units.Add(step)
		return &Truth{Injection: kind, RTA: h.scheme.rta, Folio: folio, Scheme: h.scheme.code,
			Detail: fmt.Sprintf("balance %s instead of %s", h.rtaUnits, h.units),
			Expect: []Expected{exp("holding", fund.UnitsMismatch, h.scheme.rta, folio, h.scheme.code, fund.CauseRoundingStep)}}
	case WholeTxn:
		c, ok := g.pickTxn(r, hs, func(h *holding, t *txn) bool {
			return t.navDate.Before(g.opt.AsOf) && h.units.Sub(t.units).IsPositive()
		})
		if !ok {
			return nil
		}
		c.t.skip = true
		c.h.rtaUnits = c.h.units.Sub(c.t.units)
		return &Truth{Injection: kind, RTA: c.h.scheme.rta, Folio: folio, Scheme: c.h.scheme.code, OrderID: c.t.order,
			Detail: fmt.Sprintf("the RTA lacks %s %s of %s units: balance %s instead of %s", c.t.kind, c.t.order, c.t.units, c.h.rtaUnits, c.h.units),
			Expect: []Expected{
				exp("holding", fund.UnitsMismatch, c.h.scheme.rta, folio, c.h.scheme.code, fund.CauseUnmatchedTxn),
				exp("transaction", fund.MissingAtRTA, c.h.scheme.rta, folio, c.t.order, ""),
			}}
	case NAVDateShift:
		c, ok := g.pickTxn(r, hs, func(_ *holding, t *txn) bool { return !fund.NextWeekday(t.navDate).After(g.opt.AsOf) })
		if !ok {
			return nil
		}
		c.t.shifted = true
		return &Truth{Injection: kind, RTA: c.h.scheme.rta, Folio: folio, Scheme: c.h.scheme.code, OrderID: c.t.order,
			Detail: fmt.Sprintf("%s at the NAV of %s instead of %s", c.t.order, fund.NextWeekday(c.t.navDate), c.t.navDate),
			Expect: []Expected{exp("transaction", fund.NAVDateMismatch, c.h.scheme.rta, folio, c.t.order, fund.CauseAfterCutoff)}}
	case StampDutyDiff:
		c, ok := g.pickTxn(r, hs, func(_ *holding, t *txn) bool { return t.kind == "purchase" })
		if !ok {
			return nil
		}
		c.t.dutyDelta = true
		return &Truth{Injection: kind, RTA: c.h.scheme.rta, Folio: folio, Scheme: c.h.scheme.code, OrderID: c.t.order,
			Detail: fmt.Sprintf("stamp duty of %s one paisa more than our %s", c.t.order, c.t.stampDuty.StringFixed(2)),
			Expect: []Expected{exp("transaction", fund.AmountMismatch, c.h.scheme.rta, folio, c.t.order, fund.CauseStampDuty)}}
	case MergedScheme:
		held := map[string]bool{}
		for _, h := range hs {
			held[h.scheme.code] = true
		}
		type cand struct {
			h    *holding
			into *scheme
		}
		var cs []cand
		for _, h := range positive {
			for _, s := range g.byRTA[h.scheme.rta] {
				if !held[s.code] && s.amc == h.scheme.amc {
					cs = append(cs, cand{h, s})
				}
			}
		}
		c, ok := pick(r, cs)
		if !ok {
			return nil
		}
		c.h.rtaProduct = c.into.product
		return &Truth{Injection: kind, RTA: c.h.scheme.rta, Folio: folio, Scheme: c.h.scheme.code,
			Detail: fmt.Sprintf("the balance of %s reported under %s (%s)", c.h.scheme.code, c.into.product, c.into.code),
			Expect: []Expected{
				exp("holding", fund.MissingAtRTA, c.h.scheme.rta, folio, c.h.scheme.code, fund.CauseMerger),
				exp("holding", fund.MissingInLedger, c.h.scheme.rta, folio, c.into.code, fund.CauseMerger),
			}}
	case DuplicateTxn:
		c, ok := g.pickTxn(r, hs, nil)
		if !ok {
			return nil
		}
		c.t.dup = true
		return &Truth{Injection: kind, RTA: c.h.scheme.rta, Folio: folio, Scheme: c.h.scheme.code, OrderID: c.t.order,
			Detail: fmt.Sprintf("%s sent twice", c.t.order),
			Expect: []Expected{exp("transaction", fund.Duplicate, c.h.scheme.rta, folio, c.t.order, "")}}
	}
	return nil
}

// units brings a ledger quantity to the scheme's units scale (exact: the
// ledger allots at that scale).
func units(d decimal.Decimal, scale int32) fund.Units {
	u, err := fund.UnitsFromDecimal(d, scale, fund.NoRounding)
	if err != nil {
		u, _ = fund.UnitsFromDecimal(d, fund.MaxUnitsScale, fund.RoundDown)
	}
	return u
}

func (g *gen) holdingsFile(rtaName string) *out {
	if rtaName == fund.RTAKFintech {
		return g.files[rta.KFinMFSD203]
	}
	return g.files[rta.CAMSWBR22]
}

func (g *gen) txnFile(rtaName string) *out {
	if rtaName == fund.RTAKFintech {
		return g.files[rta.KFinMFSD201]
	}
	return g.files[rta.CAMSWBR2]
}

func (g *gen) writeHolding(folio, investor string, h *holding) error {
	if err := g.writeBalance(folio, investor, h); err != nil {
		return err
	}
	if g.pendingExtra != nil {
		x, xf := g.pendingExtra, g.pendingExtraFolio
		g.pendingExtra = nil
		return g.writeBalance(xf, "", x)
	}
	return nil
}

func (g *gen) writeBalance(folio, investor string, h *holding) error {
	if h.omit || h.rtaUnits.IsZero() {
		return nil
	}
	s := h.scheme
	u := units(h.rtaUnits, s.scale)
	rec := fund.RTAHolding{RTA: s.rta, Folio: folio, Product: h.rtaProduct, ISIN: s.isin, SchemeName: s.name, AsOf: g.opt.AsOf,
		Units: u, Investor: investor, Broker: "ARN-000000"}
	if h.rtaProduct != s.product {
		// Reported under another scheme: its name and ISIN go with the code.
		for _, o := range g.byRTA[s.rta] {
			if o.product == h.rtaProduct {
				rec.SchemeName, rec.ISIN = o.name, o.isin
			}
		}
	}
	if !s.nav.IsZero() {
		rec.NAV = s.nav.Decimal()
		rec.Value = u.Value(s.nav).Decimal()
	}
	o := g.holdingsFile(s.rta)
	o.rows++
	g.res.Holdings[s.rta]++
	return o.w.Holding(rec)
}

func (g *gen) writeTxn(folio, investor string, h *holding, t *txn) error {
	if t.skip || !g.inWindow(t) {
		return nil
	}
	s := h.scheme
	var kind fund.TxKind
	var err error
	switch t.kind { // the RTA books a merger's legs as a transfer out and in: the layouts' switch codes
	case fund.KindMergerOut:
		kind = fund.SwitchOut
	case fund.KindMergerIn:
		kind = fund.SwitchIn
	default:
		kind, err = fund.ParseTxKind(t.kind)
	}
	if err != nil {
		return fmt.Errorf("rtagen: ledger transaction %d: %w", t.id, err)
	}
	if t.sipPlan != "" {
		kind = fund.SIP // the RTA books an instalment as a SIP, with its registration
	}
	amount, err := fund.AmountFromDecimal(t.amount, fund.NoRounding)
	if err != nil {
		return fmt.Errorf("rtagen: ledger transaction %d: %w", t.id, err)
	}
	duty, err := fund.AmountFromDecimal(t.stampDuty, fund.NoRounding)
	if err != nil {
		return fmt.Errorf("rtagen: ledger transaction %d: %w", t.id, err)
	}
	if t.dutyDelta {
		duty = duty.Add(fund.MustAmount("0.01"))
	}
	navDate := t.navDate
	if t.shifted {
		navDate = fund.NextWeekday(navDate)
	}
	post := navDate.AddDays(1)
	if post.After(g.opt.AsOf) {
		post = g.opt.AsOf
	}
	nav := t.nav
	if n, err := fund.NAVFromDecimal(nav, fund.NoRounding); err == nil {
		nav = n.Decimal()
	}
	no := 100000000 + t.id
	if s.rta == fund.RTAKFintech {
		no = 500000000 + t.id
	}
	rec := fund.RTATransaction{RTA: s.rta, Folio: folio, Product: s.product, ISIN: s.isin, SchemeName: s.name, Investor: investor,
		TxnNo: strconv.FormatInt(no, 10), UserRef: t.order, Kind: kind, TradeDate: navDate, NAVDate: navDate, PostDate: post,
		NAV: nav, Units: units(t.units, s.scale), Amount: amount, StampDuty: duty, Status: "CNF", Reported: g.opt.AsOf,
		SIPRegNo: t.sipPlan}
	o := g.txnFile(s.rta)
	copies := 1
	if t.dup {
		copies = 2
	}
	for i := 0; i < copies; i++ {
		o.rows++
		g.res.Transactions[s.rta]++
		if kind == fund.SIP {
			g.res.SIP[s.rta]++
		}
		if err := o.w.Txn(rec); err != nil {
			return err
		}
	}
	return nil
}
