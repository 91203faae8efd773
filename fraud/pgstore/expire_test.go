package pgstore_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// expiryStream is 400 days of new investors (each seen on one day only,
// the way most of a month's investors are: a bank change, a SIP purchase,
// a small redemption, a failed payment), with planted patterns whose
// events lie days to months apart, in the order the evaluation reads it:
// each partition in time order, partition 1 of orders.status read 20 days
// behind the others (a consumer that fell behind). It returns the events
// in delivery order and the index after the first 200 days' events.
func expiryStream() ([]pgstore.Positioned, int) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const days, perDay, lag = 400, 12, 20 * 24 * time.Hour
	type ev struct {
		p   pgstore.Positioned
		key time.Time // when it is read
	}
	var evs []ev
	n := 0
	add := func(stream string, part int, e fraud.Event) {
		n++
		e.ID = fmt.Sprintf("e%d", n)
		e.Lineage = fmt.Sprintf("%s/%d/%s", stream, part, e.ID)
		key := e.At
		if stream == "orders.status" && part == 1 {
			key = key.Add(lag)
		}
		evs = append(evs, ev{pgstore.Positioned{Stream: stream, Part: part, Event: e}, key})
	}
	at := func(d int, h float64) time.Time {
		return start.AddDate(0, 0, d).Add(time.Duration(h * float64(time.Hour)))
	}
	change := func(inv string, t time.Time, fps map[string]string) {
		var fs []string
		for f := range fps {
			fs = append(fs, f)
		}
		slices.Sort(fs)
		add("investors.changed", 0, fraud.Event{Kind: fraud.EventProfile, InvestorID: inv, At: t, Fields: fs, Fingerprints: fps})
	}
	order := func(part int, inv, kind string, t time.Time, amount, holdings string) {
		n := n + 1
		add("orders.status", part, fraud.Event{Kind: fraud.EventOrder, OrderKind: kind, OrderID: fmt.Sprintf("O%d", n), InvestorID: inv, FolioNo: "F" + inv,
			At: t, Amount: fund.MustAmount(amount), Holdings: fund.MustAmount(holdings)})
	}
	failed := func(inv string, t time.Time) {
		add("payments.status", 0, fraud.Event{Kind: fraud.EventPayment, PaymentFailed: true, InvestorID: inv, At: t, Amount: fund.MustAmount("10")})
	}
	for d := range days {
		for k := range perDay {
			inv := fmt.Sprintf("I%d-%d", d, k)
			change(inv, at(d, 1), map[string]string{"bank_account": "b" + inv, "mobile": "m" + inv, "email": "e" + inv})
			order(k%2, inv, "purchase", at(d, 2), "5000", "100000")
			order(k%2, inv, "redemption", at(d, 3), "1000", "100000")
			failed(inv, at(d, 4))
		}
		if d%5 == 0 { // a takeover 6d20h after the change, and one 2h too late
			change(fmt.Sprintf("ATO%d", d), at(d, 5), map[string]string{"bank_account": fmt.Sprintf("bATO%d", d)})
			order(1, fmt.Sprintf("ATO%d", d), "redemption", at(d+6, 20+5), "60000", "100000")
			change(fmt.Sprintf("ATOX%d", d), at(d, 5), map[string]string{"bank_account": fmt.Sprintf("bATOX%d", d)})
			order(1, fmt.Sprintf("ATOX%d", d), "redemption", at(d+7, 2+5), "60000", "100000")
		}
		if d%7 == 0 { // mules 89 days apart (within 90), and a trio whose first is 91 days before the third
			for i, off := range []int{0, 30, 89} {
				change(fmt.Sprintf("MULE%d-%d", d, i), at(d+off, 6), map[string]string{"bank_account": fmt.Sprintf("mule%d", d)})
			}
			for i, off := range []int{0, 1, 91} {
				change(fmt.Sprintf("MULX%d-%d", d, i), at(d+off, 6), map[string]string{"bank_account": fmt.Sprintf("mulx%d", d)})
			}
		}
		if d%11 == 0 { // a round trip on the partition read late
			order(1, fmt.Sprintf("RT%d", d), "purchase", at(d, 6), "200000", "200000")
			order(1, fmt.Sprintf("RT%d", d), "redemption", at(d+2, 6), "190000", "200000")
		}
		if d%13 == 0 { // card testing: six failed payments in 50 minutes
			for i := range 6 {
				failed(fmt.Sprintf("CARD%d", d), at(d, 7+float64(i)/6))
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return a.key.Compare(b.key) })
	offs := map[string]int64{}
	out := make([]pgstore.Positioned, len(evs))
	half := 0
	for i, e := range evs {
		sp := fmt.Sprintf("%s/%d", e.p.Stream, e.p.Part)
		e.p.Off = offs[sp]
		offs[sp]++
		out[i] = e.p
		if e.key.Before(at(days/2, 0)) {
			half = i + 1
		}
	}
	return out, half
}

// The windows of keys that never come back are dropped once no event
// still to come can keep one of their entries: over 400 days of new
// investors the windows in memory stop growing after the longest rule's
// window (mule: 90 days, plus the skew allowances), where without expiry
// they grow with every investor; and the alerts are the ones the rules
// raise with every window kept (fraud.RuleSet.EvalAll over a plain map,
// the same events in the same order), planted pairs at the edge of their
// windows and a partition read 20 days late included.
func TestExpiryBoundsTheWindowsAndChangesNoAlert(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	rs := fraud.Shipped()
	evs, half := expiryStream()

	// every window kept
	ref := map[string]fraud.State{}
	var want []string
	refAt := 0
	for i, p := range evs {
		changed, fs := rs.EvalAll(ref, p.Event)
		for k, st := range changed {
			if st.Len() == 0 {
				delete(ref, k)
			} else {
				ref[k] = st
			}
		}
		for _, f := range fs {
			want = append(want, f.AlertID())
		}
		if i+1 == half {
			refAt = len(ref)
		}
	}

	st := &pgstore.Store{Pool: pool}
	var got []string
	liveAt := 0
	for i := 0; i < len(evs); {
		j := min(i+250, len(evs))
		if i < half && j > half {
			j = half
		}
		res, err := st.Apply(ctx, rs, evs[i:j])
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Raised {
			got = append(got, f.AlertID())
		}
		if j == half {
			liveAt, _ = st.Windows()
		}
		i = j
	}
	live, dropped := st.Windows()
	slices.Sort(want)
	slices.Sort(got)
	// the planted patterns fire as counted from the input: a takeover every
	// 5 days (80), a mule trio every 7 (58, each completed 89 days later,
	// all within the 400 days + the trio's 89), a round trip every 11 (37),
	// card testing every 13 (31); and nothing else
	counts := map[string]int{}
	for _, id := range want {
		rule, _, _ := strings.Cut(id, ":")
		counts[rule]++
	}
	if wantCounts := map[string]int{"ato-redemption": 80, "mule-bank": 58, "round-trip": 37, "card-testing": 31}; !maps.Equal(counts, wantCounts) {
		t.Fatalf("the rules with every window kept raised %v, the plants are %v", counts, wantCounts)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("with expiry %d alerts, with every window kept %d: they differ (first of each: %v / %v)", len(got), len(want), first(got), first(want))
	}
	t.Logf("%d events; windows after 200 days %d (every window kept: %d), after 400 days %d (every window kept: %d), %d dropped",
		len(evs), liveAt, refAt, live, len(ref), dropped)
	// bounded: the second 200 days add as many investors as the first, and
	// no windows; every window kept, they double
	if live > liveAt+liveAt/20 {
		t.Errorf("windows grew from %d after 200 days to %d after 400: expiry does not bound them", liveAt, live)
	}
	if live*2 > len(ref) {
		t.Errorf("%d windows live of the %d the rules keep without expiry: expected well under half", live, len(ref))
	}
	if int64(live)+dropped < int64(len(ref)) {
		t.Errorf("live %d + dropped %d < %d windows made", live, dropped, len(ref))
	}

	// a start from a snapshot taken now has the expired windows gone
	if err := st.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	again := &pgstore.Store{Pool: pool}
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := again.Windows(); n != live {
		t.Errorf("a start from the snapshot has %d windows, the store had %d", n, live)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// A snapshot larger than one chunk (8 MB) is written a chunk at a time
// and read back whole: every window is there after a start, and a
// window from any chunk still fires.
func TestSnapshotOfManyChunksReadsBack(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	rs := fraud.Shipped()
	st := &pgstore.Store{Pool: pool}
	const n = 150_000 // two windows each (ato-redemption, mule-bank): ~16 MB packed (40,000 were 14 MB as JSON, 4.3 MB packed)
	var evs []pgstore.Positioned
	for i := range n {
		evs = append(evs, profile(int64(i), fmt.Sprintf("c%d", i), fmt.Sprintf("I%d", i), 0, fmt.Sprintf("fp%d", i)))
	}
	for i := 0; i < n; i += 1000 {
		if _, err := st.Apply(ctx, rs, evs[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	var chunks int
	var bytes int64
	if err := pool.QueryRow(ctx, `SELECT count(*), sum(length(data)) FROM fraud_snapshot_chunks`).Scan(&chunks, &bytes); err != nil {
		t.Fatal(err)
	}
	var recorded int64
	if err := pool.QueryRow(ctx, `SELECT bytes FROM fraud_snapshots`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if chunks < 2 || recorded != bytes {
		t.Fatalf("%d chunks of %d bytes, the snapshot records %d: want 2 or more, and its size", chunks, bytes, recorded)
	}
	again := &pgstore.Store{Pool: pool}
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := again.Windows(); got != 2*n {
		t.Fatalf("%d windows read back, want %d", got, 2*n)
	}
	// two more investors on each of a spread of fingerprints: the third on
	// each is a mule (more than 2)
	var more []pgstore.Positioned
	var want []string
	for k, i := range []int{0, n / 3, n / 2, n - 1} {
		for j := range 2 {
			id := fmt.Sprintf("x%d-%d", k, j)
			more = append(more, profile(int64(n+2*k+j), id, "X"+id, 1, fmt.Sprintf("fp%d", i)))
			if j == 1 {
				want = append(want, "mule-bank:"+id)
			}
		}
	}
	res, err := again.Apply(ctx, rs, more)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Raised {
		got = append(got, f.AlertID())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("raised %v, want %v", got, want)
	}
}
