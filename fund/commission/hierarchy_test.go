package commission

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/shopspring/decimal"
)

var parties = []Party{
	{ID: "ARN-1", Kind: ARNHolder, ValidFrom: date(2020, 1, 1), ValidTo: date(2026, 4, 20), GSTRegistered: true},
	{ID: "SUB-A", Kind: SubBroker, ValidFrom: date(2020, 1, 1)},
	{ID: "E-1", Kind: EUINEmployee, ValidFrom: date(2020, 1, 1), ValidTo: date(2026, 4, 10)},
	{ID: "ARN-2", Kind: ARNHolder, ValidFrom: date(2020, 1, 1)},
}

// ARN-1 keeps 60 % and gives SUB-A 40 %; SUB-A keeps half and gives E-1 half:
// ARN-1 60 %, SUB-A 20 %, E-1 20 %. From 16-Apr ARN-1 keeps everything.
var trees = []Tree{
	{Root: "ARN-1", From: date(2026, 1, 1), Shares: []Share{
		{"ARN-1", "ARN-1", d("60")}, {"ARN-1", "SUB-A", d("40")}, {"SUB-A", "SUB-A", d("50")}, {"SUB-A", "E-1", d("50")}}},
	{Root: "ARN-1", From: date(2026, 4, 16), Shares: []Share{{"ARN-1", "ARN-1", d("100")}}},
}

func mustHierarchy(t *testing.T) *Hierarchy {
	t.Helper()
	h, err := NewHierarchy(parties, trees)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSplitEffectiveDated(t *testing.T) {
	h := mustHierarchy(t)
	cases := []struct {
		on   fund.Date
		want string // payee=pct, by payee
		err  error
	}{
		{date(2026, 4, 1), "ARN-1=60 E-1=20 SUB-A=20", nil},
		{date(2026, 4, 11), "ARN-1=60 held:E-1=20 SUB-A=20", nil}, // E-1's EUIN lapsed after 10-Apr: held
		{date(2026, 4, 16), "ARN-1=100", nil},                     // the second tree
		{date(2026, 4, 21), "", ErrNoValidARN},                    // ARN-1's registration ended 20-Apr
	}
	for _, c := range cases {
		got, err := h.Split("ARN-1", c.on)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err %v; want %v", c.on, err, c.err)
			continue
		}
		var parts []string
		for _, s := range got {
			parts = append(parts, s.Payee+"="+s.Pct.String())
		}
		if strings.Join(parts, " ") != c.want {
			t.Errorf("%s: %v; want %s", c.on, parts, c.want)
		}
	}
	if got, err := h.Split("ARN-2", date(2026, 4, 1)); err != nil || len(got) != 1 || got[0].Payee != "ARN-2" || !got[0].Pct.Equal(hundred) {
		t.Errorf("an ARN with no tree: %v %v; want itself at 100 %%", got, err)
	}
	if _, err := h.Split("ARN-9", date(2026, 4, 1)); !errors.Is(err, ErrNoValidARN) {
		t.Errorf("unknown ARN: %v; want ErrNoValidARN", err)
	}
}

func TestTreeRefusedAtLoad(t *testing.T) {
	cases := []struct {
		name   string
		shares []Share
	}{
		{"99.99 %", []Share{{"ARN-1", "ARN-1", d("59.99")}, {"ARN-1", "SUB-A", d("40")}}},
		{"100.01 % below", []Share{{"ARN-1", "ARN-1", d("60")}, {"ARN-1", "SUB-A", d("40")}, {"SUB-A", "SUB-A", d("50")}, {"SUB-A", "E-1", d("50.01")}}},
		{"cycle", []Share{{"ARN-1", "SUB-A", d("100")}, {"SUB-A", "ARN-1", d("100")}}},
		{"unknown payee", []Share{{"ARN-1", "ARN-1", d("50")}, {"ARN-1", "X", d("50")}}},
		{"not under the root", []Share{{"ARN-1", "ARN-1", d("100")}, {"SUB-A", "E-1", d("100")}}},
		{"zero share", []Share{{"ARN-1", "ARN-1", d("100")}, {"ARN-1", "SUB-A", d("0")}}},
	}
	for _, c := range cases {
		_, err := NewHierarchy(parties, []Tree{{Root: "ARN-1", From: date(2026, 1, 1), Shares: c.shares}})
		if !errors.Is(err, ErrShares) {
			t.Errorf("%s: %v; want ErrShares", c.name, err)
		}
	}
	if _, err := NewHierarchy(parties, []Tree{trees[0], trees[0]}); err == nil {
		t.Error("two trees of one root on one date accepted")
	}
	if _, err := NewHierarchy(parties, []Tree{{Root: "SUB-A", From: date(2026, 1, 1)}}); err == nil {
		t.Error("a sub-broker as root accepted")
	}
}

func TestAllocateLargestRemainder(t *testing.T) {
	// Three thirds of ₹1: each exact 12,166.6667/36,500 = 0.3333334…; the
	// total 36,500.0001/36,500 rounds to 1.00; floors 0.33 × 3 = 0.99; the one
	// paisa left goes to the tie's smallest payee id, "a".
	third := AccrualFromBasis(d("12166.6667"))
	total, got, err := Allocate([]Part{{"c", third}, {"a", third}, {"b", third}})
	if err != nil {
		t.Fatal(err)
	}
	if total.String() != "1.00" || got[0].String() != "0.33" || got[1].String() != "0.34" || got[2].String() != "0.33" {
		t.Errorf("total %s parts %v; want 1.00 and c 0.33, a 0.34, b 0.33", total, got)
	}
	if _, _, err := Allocate([]Part{{"a", AccrualFromBasis(d("-1"))}}); err == nil {
		t.Error("a negative part accepted")
	}
}

// April's holiday month (basis 333,000, ₹9.1232876…) through the hierarchy:
// until 15-Apr the 60/20/20 tree (E-1 held from 11-Apr), then ARN-1 alone;
// ARN-1's registration ends 20-Apr, so 21..30-Apr is held for ARN-1.
func TestPayoutLinesHandComputed(t *testing.T) {
	navs := mustSeries(t,
		NAVPoint{date(2026, 4, 1), fund.MustNAV("10.0000")},
		NAVPoint{date(2026, 4, 13), fund.MustNAV("10.5000")},
		NAVPoint{date(2026, 4, 15), fund.MustNAV("12.0000")})
	tb := mustTable(t, Structure{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), TrailPct: d("1.00")})
	days := accrueApril(t, tb, navs, func(fund.Date) Holding { return hold })
	lines, err := PayoutLines(days, mustHierarchy(t))
	if err != nil {
		t.Fatal(err)
	}
	// Daily bases: 10,000 (1..12), 10,500 (13, 14), 12,000 (15..30).
	// Bucket ARN-1 (days 1..20, while ARN-1 is registered):
	//   ARN-1:    60 % of (12×10,000 + 2×10,500 + 12,000) = 0.6 × 153,000 = 91,800
	//             + 100 % of 16..20: 5 × 12,000 = 60,000   → 151,800 → 4.1589041…
	//   SUB-A:    20 % of 153,000 = 30,600                   → 0.8383561…
	//   E-1:      20 % of 1..10: 0.2 × 100,000 = 20,000      → 0.5479452…
	//   held:E-1  20 % of 11..15: 0.2 × (2×10,000 + 2×10,500 + 12,000) = 10,600 → 0.2904109…
	//   total 213,000 / 36,500 = 5.8356… → 5.84; floors 4.15 + 0.83 + 0.54 +
	//   0.29 = 5.81; the 3 paise left go to the largest dropped fractions of a
	//   paisa: ARN-1 .890, SUB-A .836, E-1 .795 (not held:E-1 .041).
	// Bucket held:ARN-1 (21..30, ARN-1 no longer registered): 10 × 12,000 =
	//   120,000 / 36,500 = 3.2876… → 3.29, rounded on its own.
	want := map[string]string{"ARN-1": "4.16", "SUB-A": "0.84", "E-1": "0.55", "held:E-1": "0.29", "held:ARN-1": "3.29"}
	totals := map[string]fund.Amount{}
	for _, l := range lines {
		totals[l.Bucket] = totals[l.Bucket].Add(l.Amount)
		if want[l.Payee] != l.Amount.String() {
			t.Errorf("%s: %s (exact %s); want %s", l.Payee, l.Amount, l.Exact, want[l.Payee])
		}
		if strings.HasPrefix(l.Payee, HeldPrefix) == (l.Reason == "") {
			t.Errorf("%s: reason %q", l.Payee, l.Reason)
		}
	}
	if len(lines) != len(want) || totals["ARN-1"].String() != "5.84" || totals["held:ARN-1"].String() != "3.29" {
		t.Errorf("%d lines, bucket totals %v; want %d lines, ARN-1 5.84 and held:ARN-1 3.29", len(lines), totals, len(want))
	}
}

// Property: over random hierarchies, holdings, NAVs and rates, the payout
// lines of each bucket (root ARN, or held:ARN on days it is not registered)
// sum exactly to its accruals rounded once half-up, computed independently
// with big.Rat from units × NAV × rate / 36,500; each line is within a paisa
// of its exact share; and the bucket's daily postings (DayPosting) add up to
// the same rounded total.
func TestPropertyPayoutsEqualAccruals(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2026))
	for iter := 0; iter < 300; iter++ {
		ps, ts := randomHierarchy(rng)
		h, err := NewHierarchy(ps, ts)
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		tb := mustTable(t,
			Structure{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), TrailPct: randPct(rng)},
			Structure{Scheme: "S1", Plan: Regular, From: date(2026, 4, 1+rng.IntN(30)), TrailPct: randPct(rng)},
			Structure{Scheme: "S2", Plan: Regular, From: date(2026, 1, 1), TrailPct: randPct(rng)})
		var days []DayAccrual
		want := map[string]*big.Rat{}
		exact := map[[2]string]*big.Rat{}
		cum, posted := map[string]Accrual{}, map[string]fund.Amount{}
		for dd := 1; dd <= 30; dd++ {
			dy := date(2026, 4, dd)
			dayAcc := map[string]Accrual{}
			for n := 0; n < 1+rng.IntN(4); n++ {
				hd := Holding{ARN: fmt.Sprintf("R%d", rng.IntN(3)), Folio: "F", Scheme: []string{"S1", "S2"}[rng.IntN(2)],
					Plan: Regular, Units: fund.MustUnits(fmt.Sprintf("%d.%03d", rng.IntN(100000), rng.IntN(1000)), 3)}
				nav := fund.MustNAV(fmt.Sprintf("%d.%04d", 1+rng.IntN(999), rng.IntN(10000)))
				navs := mustSeries(t, NAVPoint{dy, nav})
				a, err := AccrueDay(tb, dy, hd, navs, decimal.Zero)
				if err != nil {
					t.Fatal(err)
				}
				days = append(days, a)
				// Independent: units × NAV × rate / 36,500 as a rational.
				r := new(big.Rat).Mul(hd.Units.Decimal().Rat(), nav.Decimal().Rat())
				r.Mul(r, tb.TrailPct(hd.Scheme, Regular, dy, decimal.Zero).Rat())
				r.Quo(r, big.NewRat(36500, 1))
				bucket := hd.ARN
				split, err := h.Split(hd.ARN, dy)
				if errors.Is(err, ErrNoValidARN) {
					bucket = HeldPrefix + hd.ARN
					split = []PayeeShare{{bucket, hundred}}
				}
				if want[bucket] == nil {
					want[bucket] = new(big.Rat)
				}
				want[bucket].Add(want[bucket], r)
				dayAcc[bucket] = dayAcc[bucket].Add(a.Accrual)
				for _, s := range split {
					kk := [2]string{bucket, s.Payee}
					if exact[kk] == nil {
						exact[kk] = new(big.Rat)
					}
					exact[kk].Add(exact[kk], new(big.Rat).Mul(r, new(big.Rat).Quo(s.Pct.Rat(), big.NewRat(100, 1))))
				}
			}
			// Post the day per bucket, as the daily job does.
			for b, acc := range dayAcc {
				posted[b] = posted[b].Add(DayPosting(cum[b], posted[b], acc))
				cum[b] = cum[b].Add(acc)
			}
		}
		lines, err := PayoutLines(days, h)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*big.Rat{}
		for _, l := range lines {
			if got[l.Bucket] == nil {
				got[l.Bucket] = new(big.Rat)
			}
			a := l.Amount.Decimal().Rat()
			got[l.Bucket].Add(got[l.Bucket], a)
			diff := new(big.Rat).Sub(a, exact[[2]string{l.Bucket, l.Payee}])
			if diff.Abs(diff).Cmp(big.NewRat(1, 100)) >= 0 {
				t.Fatalf("iter %d %v: line %s more than a paisa from exact", iter, l.Payee, l.Amount)
			}
		}
		for b, w := range want {
			if got[b] == nil {
				got[b] = new(big.Rat) // all its accruals were zero: no lines
			}
			r := moneytest.RoundRat(w, 2, true)
			if got[b].FloatString(2) != r {
				t.Fatalf("iter %d %s: lines sum %v; want %v (accruals %s rounded once)", iter, b, got[b], r, w.FloatString(6))
			}
			if posted[b].String() != r {
				t.Fatalf("iter %d %s: daily postings sum %s; want %v", iter, b, posted[b], r)
			}
		}
	}
}

func randPct(rng *rand.Rand) decimal.Decimal {
	return decimal.New(int64(rng.IntN(200)), -2) // 0.00 .. 1.99 %
}

// randomHierarchy: three root ARNs (one lapsing mid-April), each with a random
// two-level tree whose shares sum to 100 (the remainder kept by the parent).
func randomHierarchy(rng *rand.Rand) ([]Party, []Tree) {
	var ps []Party
	var ts []Tree
	for r := 0; r < 3; r++ {
		root := fmt.Sprintf("R%d", r)
		p := Party{ID: root, Kind: ARNHolder, ValidFrom: date(2020, 1, 1)}
		if r == 2 {
			p.ValidTo = date(2026, 4, 1+rng.IntN(29))
		}
		ps = append(ps, p)
		for v := 0; v < 2; v++ {
			tr := Tree{Root: root, From: date(2026, 1+3*v, 1+rng.IntN(28))}
			left := decimal.New(100, 0)
			for k := 0; k < 1+rng.IntN(3); k++ {
				id := fmt.Sprintf("%s-%d-%d", root, v, k)
				ps = append(ps, Party{ID: id, Kind: SubBroker, ValidFrom: date(2020, 1, 1), ValidTo: date(2026, 4, 1+rng.IntN(40))})
				sh := decimal.New(int64(1+rng.IntN(3000)), -2) // 0.01 .. 30.00 %
				left = left.Sub(sh)
				tr.Shares = append(tr.Shares, Share{root, id, sh})
				// Each sub-broker keeps some and passes the rest to an EUIN.
				e := id + "-e"
				ps = append(ps, Party{ID: e, Kind: EUINEmployee, ValidFrom: date(2020, 1, 1)})
				keep := decimal.New(int64(1+rng.IntN(9999)), -2)
				tr.Shares = append(tr.Shares, Share{id, id, keep}, Share{id, e, hundred.Sub(keep)})
			}
			tr.Shares = append(tr.Shares, Share{root, root, left})
			ts = append(ts, tr)
		}
	}
	return ps, ts
}
