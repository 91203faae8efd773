package commission

import (
	"math/rand"
	"testing"

	"github.com/shopspring/decimal"
)

// BandsOn is TrailPct as a table: for every scheme and AUM, the one band
// whose [FromAUM, ToAUM) holds the AUM has TrailPct's rate, and a scheme or
// plan TrailPct gives 0 has no band.
func TestBandsOnIsTrailPct(t *testing.T) {
	d := decimal.RequireFromString
	tb := mustTable(t,
		Structure{Scheme: "FLAT", Plan: Regular, From: date(2026, 1, 1), TrailPct: d("1.00")},
		Structure{Scheme: "SLAB", Plan: Regular, From: date(2026, 1, 1), Slabs: []Slab{
			{FromAUM: d("0"), TrailPct: d("1.00")}, {FromAUM: d("50000"), TrailPct: d("0.80")}, {FromAUM: d("200000"), TrailPct: d("0.50")}}},
		Structure{Scheme: "CHG", Plan: Regular, From: date(2026, 1, 1), TrailPct: d("0.90")},
		Structure{Scheme: "CHG", Plan: Regular, From: date(2026, 4, 10), TrailPct: d("0.70")},
		Structure{Scheme: "LATER", Plan: Regular, From: date(2026, 5, 1), TrailPct: d("1.10")},
		Structure{Scheme: "DIR", Plan: Direct, From: date(2026, 1, 1), TrailPct: d("0.40")},
	)
	cases := []struct {
		day   int
		bands int // FLAT 1 + SLAB 3 + CHG 1; LATER not yet, DIR direct
		chg   string
	}{{5, 5, "0.90"}, {9, 5, "0.90"}, {10, 5, "0.70"}}
	for _, c := range cases {
		day := date(2026, 4, c.day)
		bands := tb.BandsOn(day)
		if len(bands) != c.bands {
			t.Fatalf("%s: %d bands %+v; want %d", day, len(bands), bands, c.bands)
		}
		rng := rand.New(rand.NewSource(int64(c.day)))
		aums := []decimal.Decimal{d("0"), d("49999.9999"), d("50000"), d("199999.99"), d("200000"), d("1e9")}
		for i := 0; i < 200; i++ {
			aums = append(aums, decimal.New(rng.Int63n(30_000_000_000), -5))
		}
		for _, sc := range []string{"FLAT", "SLAB", "CHG", "LATER", "DIR"} {
			for _, aum := range aums {
				var got []decimal.Decimal
				for _, b := range bands {
					if b.Scheme == sc && !aum.LessThan(b.FromAUM) && (b.Open || aum.LessThan(b.ToAUM)) {
						got = append(got, b.TrailPct)
					}
				}
				plan := Regular
				if sc == "DIR" {
					plan = Direct
				}
				want := tb.TrailPct(sc, plan, day, aum)
				switch {
				case want.IsZero() && len(got) != 0:
					t.Errorf("%s %s AUM %s: bands %v; want none (rate 0)", day, sc, aum, got)
				case !want.IsZero() && (len(got) != 1 || !got[0].Equal(want)):
					t.Errorf("%s %s AUM %s: bands %v; want one at %s", day, sc, aum, got, want)
				}
			}
		}
		if c.chg != "" {
			for _, b := range bands {
				if b.Scheme == "CHG" && !b.TrailPct.Equal(d(c.chg)) {
					t.Errorf("%s: CHG at %s; want %s", day, b.TrailPct, c.chg)
				}
			}
		}
	}
}
