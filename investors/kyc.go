package investors

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/kra"
)

// The KYC gate: the KRAs' status feed (transforms/kra) applied to the
// investors whose PAN it names, and turned into the ledger's investor
// restriction of source kyc, which the ledger enforces wherever it allots
// (an order of a blocked kind is held with the public reason). The status
// → permission rule is fund/kyc's effective-dated table (Decide).
//
// Order of writes, for a crash at any point: the restriction first (its
// own ledger transaction), then the status (with its version and event).
// A crash between them leaves the restriction already right; the replayed
// batch finds the status not yet stored, stores it, and reconciles the
// restriction again (a no-op). So an order of an investor going on hold is
// never allotted after the feed row was applied, and one going validated
// is released by the replay at the latest.

// Restrictor is the ledger's investor restrictions (*ledger.Service).
type Restrictor interface {
	SetRestriction(ctx context.Context, r ledger.Restriction) error
	LiftRestriction(ctx context.Context, investorID, source, by string) (int, error)
	// A batch in one transaction each (the feed's batches).
	SetRestrictions(ctx context.Context, rs []ledger.Restriction) error
	LiftRestrictions(ctx context.Context, investorIDs []string, source, by string) (int, error)
}

var _ Restrictor = (*ledger.Service)(nil)

// KYCState is an investor's KYC facts on file (kyc_status).
type KYCState struct {
	PANFP       string
	Status      kyc.Status // "" : no KRA status yet
	KRA, Code   string
	At          time.Time // the KRA's status time (zero: none)
	Remarks     string
	Inoperative bool
	AadhaarAt   time.Time
	From        fund.Origin // the feed line of the last change, of either kind
	// The feed lines the KRA status and the PAN–Aadhaar link on file came
	// from (File and Line; File "": not known, a state from before session
	// 34), which break a tie of equal status times (FeedOrder).
	StatusFrom, AadhaarFrom FeedLine
}

// FeedLine is a line of a feed file: what a state keeps of a fact's
// origin to order it (FeedOrder).
type FeedLine struct {
	File string
	Line int
}

// KYCStore is what the gate keeps in Postgres (investors/pgstore).
type KYCStore interface {
	// LookupKYC reads, in one round trip, the investors each PAN
	// fingerprint is the KYC PAN of (their own PAN, or a minor's
	// guardian's when the minor has none) with their states, kyc
	// restrictions and minors-of-age flags.
	LookupKYC(ctx context.Context, fps []string) (KYCLookup, error)
	// KYCRestrictions reads the investors' current kyc restrictions.
	KYCRestrictions(ctx context.Context, ids []string) (map[string]ledger.Restriction, error)
	// StoreKYC writes the investors' new states, in order, in one
	// transaction: each write appends its kyc_status_history row (the
	// audit trail of the KYC columns; one audit_log row for the batch); a
	// write with an event takes the investor's next change_seq (kept on
	// kyc_status and the history row; the record, unchanged, gets no
	// version) and appends its investors.changed event.
	StoreKYC(ctx context.Context, ws []KYCWrite) error
	// StoreUnmatched keeps the feed rows whose PAN is no investor's (one
	// statement; a PAN's later row wins).
	StoreUnmatched(ctx context.Context, us []Unmatched) error
	// WithoutKYC lists the investors with no KYC status and an operative PAN.
	WithoutKYC(ctx context.Context) ([]string, error)
	// DueMajority lists the minors whose majority date is on or before day
	// and who are not flagged yet.
	DueMajority(ctx context.Context, day fund.Date) ([]string, error)
	// MarkMajority flags a minor as of age, with a version of the record
	// (fields tax_status), its audit row and its investors.changed event.
	MarkMajority(ctx context.Context, id string, at time.Time, by string) error
}

// KYCLookup is what the gate reads of a batch's PANs (KYCStore.LookupKYC).
type KYCLookup struct {
	Match        map[string][]string           // PAN fingerprint → investors, in id order
	States       map[string]KYCState           // by investor (absent: none on file); From and PANFP not read: a change replaces them
	Restrictions map[string]ledger.Restriction // the investors' kyc restrictions, what sameRestriction compares (no Since, By)
	OfAge        map[string]bool               // minors flagged as of age
}

// KYCWrite is one investor's new KYC state, with the event of the change
// when its effective status changed.
type KYCWrite struct {
	InvestorID string
	State      KYCState
	Event      *KYCEvent
}

// KYCEvent is what the version of a KYC change says.
type KYCEvent struct {
	KYCStatus string // the effective status: on_hold when the PAN is inoperative
	At        time.Time
	By        string
}

// KYCHistoryRow is one kyc_status_history row: a change of an investor's
// KYC state as the feed line gave it.
type KYCHistoryRow struct {
	ID         int64
	InvestorID string
	ChangeSeq  int // the investors.changed event of the change; 0: the effective status did not change
	State      KYCState
	Effective  string
	RecordedAt time.Time
	By         string
}

// Unmatched is a feed row of an unknown PAN.
type Unmatched struct {
	PANFP       string
	Kind        kra.Kind
	PANEnc      []byte
	Status      kyc.Status
	Code        string
	Inoperative bool
	At          time.Time
	From        fund.Origin
	SeenAt      time.Time
}

// Gate applies KRA feed records and keeps the kyc restrictions in line.
type Gate struct {
	Store  KYCStore
	Ledger Restrictor
	PII    *pii.Sealer
	Table  *kyc.PermissionTable // nil: kyc.Permissions
	// RequireRecord holds the orders of investors with no KYC status at all
	// (kyc_missing) when Sweep runs. Off by default: the investors of the
	// existing demos and tests have no KYC record.
	RequireRecord bool
	// Parallel is how many shards of a batch's investors are written
	// concurrently (0: 2, the machine's cores, for batches of 1,000 or more).
	Parallel int
	// PartSize is how many distinct PANs of a batch are looked up and
	// written at a time, the next part's lookup overlapping the last
	// part's writes (0: the whole batch, no overlap).
	PartSize int
	Now      func() time.Time
	Log      *slog.Logger
}

// By is who the gate's changes are recorded as made by.
const By = "kra-feed"

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Gate) table() *kyc.PermissionTable {
	if g.Table != nil {
		return g.Table
	}
	return kyc.Permissions
}

func (g *Gate) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

// Name labels the sink's metrics.
func (g *Gate) Name() string { return "postgres-kyc" }

// Write applies a batch of feed records (pipelines.Sink): in line order,
// each to every investor its PAN matches; unknown PANs are kept as
// unmatched. Replaying a batch changes nothing more (see the order of
// writes above).
//
// A batch may be applied in parts, each the rows of a range of its sorted
// PANs (PartSize distinct PANs): the next part's lookup runs while the
// last part is written. An investor is matched by one PAN only (their
// own, or their guardian's when they have none), so the parts' investors
// are disjoint: a part's lookup never reads what an earlier part of the
// batch is writing, and each investor's rows stay in line order.
func (g *Gate) Write(ctx context.Context, b pipelines.Batch[kra.Record]) error {
	if len(b.Items) == 0 {
		return nil
	}
	fps := make([]string, len(b.Items))
	seen := map[string]bool{}
	var uniq []string
	for i, r := range b.Items {
		fps[i] = g.PII.Fingerprint("pan", r.PAN)
		if !seen[fps[i]] {
			seen[fps[i]] = true
			uniq = append(uniq, fps[i])
		}
	}
	slices.Sort(uniq)
	size := g.partSize(len(uniq))
	nparts := (len(uniq) + size - 1) / size
	partOf := make(map[string]int, len(uniq))
	pans := make([][]string, nparts)
	for k := range nparts {
		pans[k] = uniq[k*len(uniq)/nparts : (k+1)*len(uniq)/nparts]
		for _, fp := range pans[k] {
			partOf[fp] = k
		}
	}
	rows := make([][]int, nparts) // each part's rows, in line order
	for i := range b.Items {
		k := partOf[fps[i]]
		rows[k] = append(rows[k], i)
	}
	type looked struct {
		look KYCLookup
		err  error
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fetch := func(k int) chan looked {
		ch := make(chan looked, 1)
		go func() {
			l, err := g.lookup(lctx, pans[k])
			ch <- looked{l, err}
		}()
		return ch
	}
	var unmatched []Unmatched
	next := fetch(0)
	for k := range nparts {
		r := <-next
		if r.err != nil {
			return r.err
		}
		next = nil
		if k+1 < nparts {
			next = fetch(k + 1)
		}
		us, err := g.apply(ctx, b.Items, fps, rows[k], r.look)
		if err != nil {
			if next != nil {
				cancel()
				<-next
			}
			return err
		}
		unmatched = append(unmatched, us...)
	}
	if err := g.Store.StoreUnmatched(ctx, unmatched); err != nil {
		return fmt.Errorf("kyc: store %d unmatched: %w", len(unmatched), err)
	}
	return nil
}

// partSize is how many distinct PANs a part of a batch of n has
// (PartSize; 0: n, the batch is one part). Measured at 1,000,000 on two
// cores, parts of 25,000 were slower than one part: the overlapped lookup
// competes with the writes for the same two cores (README, session 33).
func (g *Gate) partSize(n int) int {
	if g.PartSize > 0 {
		return g.PartSize
	}
	return max(n, 1)
}

// apply writes the items at rows (a part of the batch, in line order)
// given what their PANs match, and returns the unmatched ones.
func (g *Gate) apply(ctx context.Context, items []kra.Record, fps []string, rows []int, look KYCLookup) ([]Unmatched, error) {
	match, states, restr, ofAge := look.Match, look.States, look.Restrictions, look.OfAge
	now := g.now().UTC()
	// Sized for the part up front: a KYCWrite is a few hundred bytes, and
	// growing slices of 100,000 of them was a fifth of the job's Go CPU
	// (profile at 200,000 investors, session 34).
	ws := make([]KYCWrite, 0, len(rows))
	var unmatched []Unmatched
	touched := make(map[string]int, len(rows))
	order := make([]string, 0, len(rows)) // the investors whose state changed, in first-change order
	for _, i := range rows {
		r := items[i]
		invs := match[fps[i]]
		if len(invs) == 0 {
			u, err := g.unmatched(fps[i], r, now)
			if err != nil {
				return nil, err
			}
			unmatched = append(unmatched, u)
			continue
		}
		for _, id := range invs {
			cur, found := states[id]
			next, changed := Merge(cur, found, r)
			next.PANFP = fps[i]
			if !changed {
				continue
			}
			if _, ok := touched[id]; !ok {
				touched[id] = len(order)
				order = append(order, id)
			}
			w := KYCWrite{InvestorID: id, State: next}
			if Effective(next) != Effective(cur) || !found {
				w.Event = &KYCEvent{KYCStatus: Effective(next), At: now, By: By}
			}
			ws = append(ws, w)
			states[id] = next
		}
	}
	// Each changed investor's restriction as its last state in the batch
	// decides (the batch's in two ledger transactions), then the statuses:
	// see the order of writes above. The investors are split into shards
	// written concurrently: disjoint investors take disjoint locks (their
	// transactions meet only at the audit chain's head, at the end), and a
	// batch retried after one shard failed finds the other's writes done
	// (Merge: no change).
	n := g.shards(len(order))
	shardOf := func(id string) int {
		h := fnv.New32a()
		_, _ = h.Write([]byte(id))
		return int(h.Sum32() % uint32(n))
	}
	orders, writes, restrs := make([][]string, n), make([][]KYCWrite, n), make([]map[string]ledger.Restriction, n)
	for k := range restrs {
		restrs[k] = map[string]ledger.Restriction{}
	}
	shard := make([]int, len(order)) // by touched's index
	perShard := make([]int, n)
	for i, id := range order {
		k := shardOf(id)
		shard[i] = k
		orders[k] = append(orders[k], id)
		if r, ok := restr[id]; ok {
			restrs[k][id] = r
		}
	}
	for _, w := range ws {
		perShard[shard[touched[w.InvestorID]]]++
	}
	for k := range writes {
		writes[k] = make([]KYCWrite, 0, perShard[k])
	}
	for _, w := range ws {
		k := shard[touched[w.InvestorID]]
		writes[k] = append(writes[k], w)
	}
	eg, ectx := errgroup.WithContext(ctx)
	for k := range n {
		eg.Go(func() error {
			if err := g.reconcileAll(ectx, orders[k], states, ofAge, restrs[k], now); err != nil {
				return err
			}
			if err := g.Store.StoreKYC(ectx, writes[k]); err != nil {
				return fmt.Errorf("kyc: store %d statuses: %w", len(writes[k]), err)
			}
			return nil
		})
	}
	return unmatched, eg.Wait()
}

// lookup reads what the batch's PANs match (KYCStore.LookupKYC), split
// into as many concurrent reads as the batch has shards, each a range of
// the sorted PANs (its index lookups then walk neighbouring pages). The
// reads see committed data only, so splitting them changes nothing.
func (g *Gate) lookup(ctx context.Context, fps []string) (KYCLookup, error) {
	fps = slices.Clone(fps)
	slices.Sort(fps)
	n := min(g.shards(len(fps)), len(fps))
	if n <= 1 {
		look, err := g.Store.LookupKYC(ctx, fps)
		if err != nil {
			return look, fmt.Errorf("kyc: look up %d PANs: %w", len(fps), err)
		}
		return look, nil
	}
	parts := make([]KYCLookup, n)
	eg, ectx := errgroup.WithContext(ctx)
	for k := range n {
		chunk := fps[k*len(fps)/n : (k+1)*len(fps)/n]
		eg.Go(func() error {
			var err error
			if parts[k], err = g.Store.LookupKYC(ectx, chunk); err != nil {
				return fmt.Errorf("kyc: look up %d PANs: %w", len(chunk), err)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return KYCLookup{}, err
	}
	out := parts[0]
	for _, p := range parts[1:] {
		maps.Copy(out.Match, p.Match)
		maps.Copy(out.States, p.States)
		maps.Copy(out.Restrictions, p.Restrictions)
		maps.Copy(out.OfAge, p.OfAge)
	}
	return out, nil
}

// shards is how many concurrent writers a batch of n changed investors
// gets: Parallel when set; else 2, and 1 for a batch under 1,000 (a
// second transaction would cost more than it saves).
func (g *Gate) shards(n int) int {
	switch {
	case g.Parallel > 0:
		return g.Parallel
	case n < 1000:
		return 1
	}
	return 2
}

// reconcileAll makes the investors' kyc restrictions what their states
// decide, in two ledger transactions for the whole batch (SetRestrictions,
// then LiftRestrictions), calling the ledger only for those that differ.
func (g *Gate) reconcileAll(ctx context.Context, ids []string, states map[string]KYCState, ofAge map[string]bool,
	restr map[string]ledger.Restriction, now time.Time) error {
	var set []ledger.Restriction
	var lift []string
	for _, id := range ids {
		want, restrict := g.want(id, states[id], ofAge[id], now)
		cur := restr[id]
		switch {
		case !restrict && cur.InvestorID != "":
			lift = append(lift, id)
		case restrict && !sameRestriction(cur, want):
			set = append(set, want)
		}
	}
	if err := g.Ledger.SetRestrictions(ctx, set); err != nil {
		return fmt.Errorf("kyc: restrict %d investors: %w", len(set), err)
	}
	n, err := g.Ledger.LiftRestrictions(ctx, lift, ledger.HoldKYC, By)
	if err != nil {
		return fmt.Errorf("kyc: lift %d investors: %w", len(lift), err)
	}
	for _, r := range set {
		restr[r.InvestorID] = r
	}
	for _, id := range lift {
		delete(restr, id)
	}
	if len(set)+len(lift) > 0 {
		g.log().Info("kyc restrictions", "set", len(set), "lifted", len(lift), "holds_released", n)
	}
	return nil
}

// want is the kyc restriction the state decides (today in IST); restrict
// false: none.
func (g *Gate) want(id string, s KYCState, minorOfAge bool, now time.Time) (ledger.Restriction, bool) {
	d := kyc.Decide(g.table(), s.Status, s.Inoperative, kyc.TodayIST(now))
	if minorOfAge {
		d = kyc.Decision{Restrict: true, Reason: kyc.ReasonMinorOfAge, BlocksPurchase: true, BlocksRedemption: true, BlocksNewFolio: true,
			Detail: "the minor is of age: the record must become the investor's own (KYC, PAN, bank account)"}
	}
	if !d.Restrict {
		return ledger.Restriction{}, false
	}
	return ledger.Restriction{InvestorID: id, Source: ledger.HoldKYC, Reason: d.Reason, Detail: d.Detail,
		BlocksPurchase: d.BlocksPurchase, BlocksRedemption: d.BlocksRedemption, BlocksNewFolio: d.BlocksNewFolio, By: By}, true
}

func sameRestriction(cur, want ledger.Restriction) bool {
	return cur.InvestorID != "" && cur.Reason == want.Reason && cur.Detail == want.Detail &&
		cur.BlocksPurchase == want.BlocksPurchase && cur.BlocksRedemption == want.BlocksRedemption && cur.BlocksNewFolio == want.BlocksNewFolio
}

// Effective is the status the event reports: on_hold while the PAN is
// inoperative, whatever the KRA says.
func Effective(s KYCState) string {
	if s.Inoperative {
		return string(kyc.OnHold)
	}
	return string(s.Status)
}

// Merge applies one feed record to an investor's state: a status older
// than the one on file is not applied (the last good status stays); a
// status identical to the one on file (the same KRA, code, status, time and
// remarks; a PAN–Aadhaar link the same) is no change: no history row, no
// event, no statement. Another line of the file, or another file, saying
// the same does not make it a change.
//
// Two statuses of the same time stamp are ordered by the feed line they
// came from (FeedOrder: the file's date in its name, its name, the line),
// so an older file replayed after a newer one changes nothing, instead of
// writing its remarks (or status) back with a history row, and the newer
// file's back again on its next replay. A time stamp the file did not
// give (a PAN–Aadhaar row without a date) orders nothing: the record
// loaded last wins, as the feed loads them.
func Merge(cur KYCState, found bool, r kra.Record) (KYCState, bool) {
	next := cur
	switch r.Kind {
	case kra.KindAadhaar:
		if found && !r.At.IsZero() && !cur.AadhaarAt.IsZero() {
			if r.At.Before(cur.AadhaarAt) || r.At.Equal(cur.AadhaarAt) && !feedLater(r.From, cur.AadhaarFrom) {
				return cur, false
			}
		}
		if found && cur.Inoperative == r.Inoperative {
			return cur, false
		}
		next.Inoperative, next.AadhaarAt, next.AadhaarFrom = r.Inoperative, r.At, lineOf(r.From)
	default:
		if found && !cur.At.IsZero() {
			if r.At.Before(cur.At) || r.At.Equal(cur.At) && !feedLater(r.From, cur.StatusFrom) {
				return cur, false
			}
		}
		if found && cur.Status == r.Status && cur.At.Equal(r.At) && cur.KRA == r.KRA && cur.Code == r.Code && cur.Remarks == r.Remarks {
			return cur, false
		}
		next.Status, next.KRA, next.Code, next.At, next.Remarks, next.StatusFrom = r.Status, r.KRA, r.Code, r.At, r.Remarks, lineOf(r.From)
	}
	next.From = r.From
	return next, true
}

// lineOf is the part of an origin a state keeps per kind.
func lineOf(o fund.Origin) FeedLine { return FeedLine{File: o.File, Line: o.Line} }

// feedLater says whether the feed line a comes after b, the line on file
// (FeedOrder); a line on file that is not known (from before the order was
// kept) comes before any.
func feedLater(a fund.Origin, b FeedLine) bool {
	return b.File == "" || FeedOrder(lineOf(a), b) > 0
}

// FeedOrder orders two feed lines (-1, 0, +1): by the date in the file's
// name (feed.NameDates: YYYY-MM-DD, YYYYMMDD or DD-Mon-YYYY; the last of a
// range; a name without one before any that has one), then the name, then
// the line. It is the order a KRA's files have whatever order they are
// loaded in: a file replayed keeps its name, so it keeps its place. (Not
// the file's mtime or when it was loaded: a replay is newer by both.)
func FeedOrder(a, b FeedLine) int {
	if c := fileDate(a.File).Compare(fileDate(b.File)); c != 0 {
		return c
	}
	if c := strings.Compare(a.File, b.File); c != 0 {
		return c
	}
	return cmp.Compare(a.Line, b.Line)
}

// fileDate is the (last) date in a file's name (the feed's name of it, as
// feed.Dated reads it); zero: none.
func fileDate(name string) time.Time {
	_, hi, ok := feed.NameDates(name)
	if !ok {
		return time.Time{}
	}
	return hi.Time()
}

// reconcile makes one investor's kyc restriction what the state decides
// (today in IST), calling the ledger only when it differs.
func (g *Gate) reconcile(ctx context.Context, id string, s KYCState, minorOfAge bool, cur ledger.Restriction, now time.Time) (ledger.Restriction, error) {
	want, restrict := g.want(id, s, minorOfAge, now)
	if !restrict {
		if cur.InvestorID == "" {
			return cur, nil
		}
		n, err := g.Ledger.LiftRestriction(ctx, id, ledger.HoldKYC, By)
		if err != nil {
			return cur, fmt.Errorf("kyc: lift %s: %w", id, err)
		}
		g.log().Info("kyc restriction lifted", "investor", id, "status", s.Status, "released", n)
		return ledger.Restriction{}, nil
	}
	if sameRestriction(cur, want) {
		return cur, nil
	}
	if err := g.Ledger.SetRestriction(ctx, want); err != nil {
		return cur, fmt.Errorf("kyc: restrict %s: %w", id, err)
	}
	g.log().Info("kyc restriction set", "investor", id, "reason", want.Reason, "detail", want.Detail)
	return want, nil
}

func (g *Gate) unmatched(fp string, r kra.Record, now time.Time) (Unmatched, error) {
	enc, err := g.PII.Seal(fp, "pan", r.PAN)
	if err != nil {
		return Unmatched{}, err
	}
	return Unmatched{PANFP: fp, Kind: r.Kind, PANEnc: enc, Status: r.Status, Code: r.Code,
		Inoperative: r.Inoperative, At: r.At, From: r.From, SeenAt: now}, nil
}

// Sweep holds, when RequireRecord is on, every investor with no KYC status
// and an operative PAN as kyc_missing (their later orders are held at
// allotment). It returns how many it restricted.
func (g *Gate) Sweep(ctx context.Context) (int, error) {
	if !g.RequireRecord {
		return 0, nil
	}
	ids, err := g.Store.WithoutKYC(ctx)
	if err != nil {
		return 0, fmt.Errorf("kyc sweep: %w", err)
	}
	restr, err := g.Store.KYCRestrictions(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("kyc sweep: %w", err)
	}
	n := 0
	now := g.now().UTC()
	for _, id := range ids {
		before := restr[id]
		after, err := g.reconcile(ctx, id, KYCState{}, false, before, now)
		if err != nil {
			return n, err
		}
		if after != before {
			n++
		}
	}
	return n, nil
}

// Majority flags the minors whose 18th birthday is today (IST) or past:
// the restriction minor_attained_majority (no purchase, no redemption) and
// a version of the record with its investors.changed event (fields
// tax_status), so notifications go out. The restriction stays until the
// record is the investor's own and the KRA feed names their own PAN. It
// returns how many it flagged.
func (g *Gate) Majority(ctx context.Context) (int, error) {
	now := g.now().UTC()
	ids, err := g.Store.DueMajority(ctx, kyc.TodayIST(now))
	if err != nil {
		return 0, fmt.Errorf("majority: %w", err)
	}
	restr, err := g.Store.KYCRestrictions(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("majority: %w", err)
	}
	for i, id := range ids {
		// The restriction first: a crash before the flag leaves the minor
		// held and due again (a no-op next time).
		if _, err := g.reconcile(ctx, id, KYCState{}, true, restr[id], now); err != nil {
			return i, err
		}
		if err := g.Store.MarkMajority(ctx, id, now, By); err != nil {
			return i, fmt.Errorf("majority of %s: %w", id, err)
		}
		g.log().Info("minor attained majority", "investor", id)
	}
	return len(ids), nil
}
