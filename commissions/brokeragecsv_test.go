package commissions

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund/commission"
)

const goodAndBad = `scheme_code,plan,effective_from,trail_pct,slab_from_aum,upfront_pct,upfront_max_sip,clawback_days,first_sip_amount
# a comment
S1,regular,2026-04-01,1.00,,1.00,3000.00,365,100.00
S1,direct,2026-04-01,1.00,,,,,
S2,Regular Plan,2026-04-01,1.00,0,,,,
S2,Regular Plan,2026-04-01,0.90,1000000,,,,
S3,regular,2026-04-01,1.00,0,,,,
S3,regular,2026-04-01,1,5,1000000,,,,
S4,regular,2026-04-01,-1,,,,,
S5,regular,2026-04-01,0.50,500000,,,,
S6,retail,2026-04-01,1.00,,,,,
S7,regular,2026-04-01,1.00,0,1.00,3000.00,365,
S7,regular,2026-04-01,0.80,100,2.00,,,
`

func TestParseBrokerage(t *testing.T) {
	f, err := ParseBrokerage("b.csv", strings.NewReader(goodAndBad))
	if err != nil {
		t.Fatal(err)
	}
	// Loaded: S1 regular (flat, upfront), S1 direct, S2 (two slabs).
	tb, err := commission.NewTable(f.Structures)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range tb.Structures() {
		got = append(got, s.Scheme+"/"+s.Plan.String())
	}
	if strings.Join(got, " ") != "S1/regular S1/direct S2/regular" {
		t.Errorf("structures %v; want S1/regular S1/direct S2/regular", got)
	}
	s1, _ := tb.InForce("S1", commission.Regular, d("2026-04-01"))
	if !s1.TrailPct.Equal(dec("1")) || s1.UpfrontMaxSIP.String() != "3000.00" || s1.ClawbackDays != 365 || s1.FirstSIPAmount.String() != "100.00" {
		t.Errorf("S1 %+v", s1)
	}
	if r := tb.TrailPct("S2", commission.Regular, d("2026-04-02"), dec("1000000")); !r.Equal(dec("0.90")) {
		t.Errorf("S2 at 10 lakh: %s; want 0.90", r)
	}
	// Quarantined, by line (the header is line 1, the comment line 2):
	want := map[int]string{
		7:  ReasonSiblingBad,   // S3's good slab-0 row waits with its bad sibling
		8:  ReasonFieldCount,   // "1,5": a decimal comma makes 10 fields
		9:  ReasonBadField,     // negative trail
		10: ReasonBadStructure, // S5: no slab from 0
		11: ReasonBadField,     // plan "retail"
		12: ReasonBadStructure, // S7: structure-wide fields differ between its rows
		13: ReasonBadStructure,
	}
	if len(f.Rejected) != len(want) {
		t.Errorf("%d rejected; want %d: %+v", len(f.Rejected), len(want), f.Rejected)
	}
	for _, r := range f.Rejected {
		if want[r.Pos.Line] != r.Reason || r.Pos.File != "b.csv" || r.Pos.SHA256 == "" || len(r.Raw) == 0 || r.Detail == "" {
			t.Errorf("line %d: %s (%s); want %s", r.Pos.Line, r.Reason, r.Detail, want[r.Pos.Line])
		}
	}
	if f.Rows != 11 {
		t.Errorf("rows %d; want 11", f.Rows)
	}
}

func TestParseBrokerageBadHeader(t *testing.T) {
	for _, in := range []string{"", "scheme,plan\nS1,regular,2026-04-01,1,,,,,\n"} {
		f, err := ParseBrokerage("x.csv", strings.NewReader(in))
		if err != nil || len(f.Structures) != 0 || len(f.Rejected) != 1 || f.Rejected[0].Reason != ReasonBadHeader {
			t.Errorf("%q: %+v %v; want one bad_header and nothing loaded", in, f, err)
		}
	}
}

// FuzzParseBrokerage: no input panics; every data line either loads (as a row
// of a structure) or is quarantined once with its line; what loads makes a
// valid table.
func FuzzParseBrokerage(f *testing.F) {
	f.Add(goodAndBad)
	f.Add(BrokerageHeader + "\nS1,regular,2026-04-01,1.00,,1.00,3000.00,365,100.00\n")
	f.Add(BrokerageHeader + "\r\nS1,direct,2026-13-01,1e3,,,,,\r\n,,,,,,,,\n")
	f.Add("\xff\xfe" + BrokerageHeader + "\n")
	f.Add(BrokerageHeaderReferral + "\nS1,regular,2026-04-01,1.00,,1.00,3000.00,365,100.00,250\nS1,regular,2026-04-01,0.9,5000,,,,,\nS2,regular,2026-04-01,1.00,,,,,\n")
	f.Fuzz(func(t *testing.T, in string) {
		bf, err := ParseBrokerage("fuzz.csv", strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := commission.NewTable(bf.Structures); err != nil {
			t.Fatalf("loaded structures make no table: %v", err)
		}
		loaded := 0
		for _, s := range bf.Structures {
			loaded += max(1, len(s.Slabs))
		}
		rejectedRows := 0
		for _, r := range bf.Rejected {
			if r.Reason != ReasonBadHeader {
				rejectedRows++
			}
			if r.Reason == "" || r.Detail == "" {
				t.Fatalf("rejection without reason: %+v", r)
			}
		}
		if loaded+rejectedRows != bf.Rows {
			t.Fatalf("%d rows: %d loaded + %d quarantined", bf.Rows, loaded, rejectedRows)
		}
	})
}
