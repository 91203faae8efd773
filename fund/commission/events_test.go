package commission

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

func TestEventCommissionsHandComputed(t *testing.T) {
	s := Structure{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), TrailPct: d("1.00"),
		UpfrontPct: d("1.5"), UpfrontMaxSIP: amt("3000.00"), ClawbackDays: 365,
		FirstSIPAmount: amt("100.00"), ReferralAmount: amt("250.00")}
	direct := s
	direct.Plan = Direct
	tb := mustTable(t, s, direct)
	h, err := NewHierarchy([]Party{
		{ID: "ARN-1", Kind: ARNHolder, ValidFrom: date(2020, 1, 1)},
		{ID: "ARN-OLD", Kind: ARNHolder, ValidFrom: date(2020, 1, 1), ValidTo: date(2025, 12, 31)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sip := TxFacts{TxID: 7, Kind: "purchase", Folio: "F1", Scheme: "S1", Plan: Regular, Day: date(2026, 4, 1),
		Amount: amt("2000.00"), Units: units("199.990"), ARN: "ARN-1", LotID: 70,
		SIP: true, FirstSIP: true, FirstInvestment: true, NewInvestorSIP: true}
	type want struct {
		key, bucket string
		amount      string
	}
	cases := []struct {
		name string
		f    func(TxFacts) TxFacts
		want []want
	}{
		// first SIP 100.00; referral 250.00; upfront 2000 × 1.5 % = 30.00
		{"new investor's first SIP", func(f TxFacts) TxFacts { return f },
			[]want{{"first_sip:7", "ARN-1", "100.00"}, {"referral:7", "ARN-1", "250.00"}, {"upfront:7:70", "ARN-1", "30.00"}}},
		// a later instalment of the same new investor's SIP: only the upfront, 2000 × 1.5 % = 30.00
		{"later instalment", func(f TxFacts) TxFacts { f.FirstSIP, f.FirstInvestment = false, false; return f },
			[]want{{"upfront:7:70", "ARN-1", "30.00"}}},
		// an instalment over 3,000 is not upfronted: 3000.01 > 3000.00
		{"instalment over the limit", func(f TxFacts) TxFacts {
			f.FirstSIP, f.FirstInvestment, f.Amount = false, false, amt("3000.01")
			return f
		}, nil},
		// an existing investor's SIP: first-SIP amount only
		{"existing investor", func(f TxFacts) TxFacts { f.FirstInvestment, f.NewInvestorSIP = false, false; return f },
			[]want{{"first_sip:7", "ARN-1", "100.00"}}},
		// a lump sum of a new investor: the referral only
		{"lump sum", func(f TxFacts) TxFacts { f.SIP, f.FirstSIP = false, false; return f },
			[]want{{"referral:7", "ARN-1", "250.00"}}},
		{"direct plan earns nothing", func(f TxFacts) TxFacts { f.Plan = Direct; return f }, nil},
		{"no ARN earns nothing", func(f TxFacts) TxFacts { f.ARN = ""; return f }, nil},
		{"before any structure", func(f TxFacts) TxFacts { f.Day = date(2025, 12, 31); return f }, nil},
		// a lapsed ARN: held, never paid to another
		{"lapsed ARN held", func(f TxFacts) TxFacts { f.ARN = "ARN-OLD"; f.FirstInvestment = false; return f },
			[]want{{"first_sip:7", "held:ARN-OLD", "100.00"}, {"upfront:7:70", "held:ARN-OLD", "30.00"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := EventCommissions(tb, h, c.f(sip))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d lines %+v, want %d", len(got), got, len(c.want))
			}
			for i, w := range c.want {
				if got[i].Key != w.key || got[i].Bucket != w.bucket || !got[i].Amount.Equal(amt(w.amount)) {
					t.Errorf("line %d = %s %s %s, want %s %s %s", i, got[i].Key, got[i].Bucket, got[i].Amount, w.key, w.bucket, w.amount)
				}
			}
		})
	}
}

func TestEventClawbackOnLedgerConsumptions(t *testing.T) {
	lot := func(id string, day fund.Date, u, up string) Lot {
		return Lot{ID: id, Date: day, Units: units(u), Remaining: units(u), Upfront: amt(up), ClawbackDays: 365}
	}
	f := TxFacts{TxID: 9, Kind: "redemption", Folio: "F1", Scheme: "S1", Day: date(2026, 7, 1),
		Consumed: []Consumption{
			// lot 70 of 1-Apr-2026: all 200 units taken on 1-Jul (91 days later): 365 − 91 = 274 days unexpired.
			// 30.00 × 200/200 × 274/365 = 22.5205… → 22.52
			{Lot: lot("70", date(2026, 4, 1), "200.000", "30.00"), Taken: units("200.000"), Bucket: "ARN-1", ARN: "ARN-1"},
			// lot 71 of 1-May-2026: 50 of 190 units taken, 61 days later, 304 unexpired.
			// 30.00 × 50/190 × 304/365 = 456000/69350 = 6.5753… → 6.58
			{Lot: lot("71", date(2026, 5, 1), "190.000", "30.00"), Taken: units("50.000"), Bucket: "held:ARN-2", ARN: "ARN-2"},
			// lot 60 of 1-Jun-2025: its period ended on 1-Jun-2026: nothing
			{Lot: lot("60", date(2025, 6, 1), "100.000", "30.00"), Taken: units("10.000"), Bucket: "ARN-1", ARN: "ARN-1"},
			// a lot without an upfront: nothing
			{Lot: lot("72", date(2026, 6, 1), "100.000", "0"), Taken: units("10.000"), Bucket: "ARN-1", ARN: "ARN-1"},
		}}
	got, err := EventCommissions(nil, nil, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ key, bucket, amount string }{{"clawback:9:70", "ARN-1", "22.52"}, {"clawback:9:71", "held:ARN-2", "6.58"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		if got[i].Key != w.key || got[i].Bucket != w.bucket || !got[i].Amount.Equal(amt(w.amount)) {
			t.Errorf("line %d = %s %s %s, want %s %s %s", i, got[i].Key, got[i].Bucket, got[i].Amount, w.key, w.bucket, w.amount)
		}
	}
}

// A clawback's SplitDay (its upfront's day) picks the tree that splits it:
// 31.85 by the 60/40 tree of 1-Apr is 19.11 and 12.74 exactly; by the 80/20
// tree of the redemption day (1-Jun) it would be 25.48 and 6.37.
func TestEventLinesSplitClawbackOnTheUpfrontsDay(t *testing.T) {
	d := decimal.New
	h, err := NewHierarchy([]Party{
		{ID: "ARN-1", Kind: ARNHolder, ValidFrom: fund.NewDate(2020, 1, 1)},
		{ID: "SUB-A", Kind: SubBroker, ValidFrom: fund.NewDate(2020, 1, 1)},
	}, []Tree{
		{Root: "ARN-1", From: fund.NewDate(2026, 1, 1), Shares: []Share{{"ARN-1", "ARN-1", d(60, 0)}, {"ARN-1", "SUB-A", d(40, 0)}}},
		{Root: "ARN-1", From: fund.NewDate(2026, 5, 15), Shares: []Share{{"ARN-1", "ARN-1", d(80, 0)}, {"ARN-1", "SUB-A", d(20, 0)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		split    fund.Date
		arn, sub string
	}{
		{"upfront's day", fund.NewDate(2026, 4, 1), "19.11", "12.74"},
		{"no split day: the redemption's", fund.Date{}, "25.48", "6.37"},
	} {
		lines, err := EventLines([]EventBucketDay{{Day: fund.NewDate(2026, 6, 1), ARN: "ARN-1", Bucket: "ARN-1", Kind: KindClawback,
			Amount: fund.MustAmount("31.85"), SplitDay: c.split}}, h)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, l := range lines {
			got[l.Payee] = l.Amount.String()
		}
		if len(lines) != 2 || got["ARN-1"] != c.arn || got["SUB-A"] != c.sub {
			t.Errorf("%s: %v; want ARN-1 %s, SUB-A %s", c.name, got, c.arn, c.sub)
		}
	}
}
