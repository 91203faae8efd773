package investors_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/transforms/kra"
)

// FeedOrder by hand: the date in the name first (the last of a range; a
// name without one before any with one), then the name, then the line.
func TestFeedOrder(t *testing.T) {
	for _, c := range []struct {
		a, b   string
		la, lb int
		want   int
	}{
		{"kra_20261205.txt", "kra_20261204.txt", 1, 9, 1},               // the date, not the line
		{"a_2026-12-05.txt", "b_2026-12-04.txt", 1, 1, 1},               // the date, not the name
		{"NDML_05-Dec-2026.txt", "CVL_20261206.txt", 1, 1, -1},          // DD-Mon-YYYY against YYYYMMDD
		{"zzz.txt", "a_20261201.txt", 5, 1, -1},                         // no date: before any dated name
		{"kra-2.txt", "kra-1.txt", 1, 9, 1},                             // neither dated: the name
		{"CVL_20261205.txt", "NDML_20261205.txt", 9, 1, -1},             // the same date: the name
		{"kra_20261205.txt", "kra_20261205.txt", 3, 7, -1},              // the same file: the line
		{"kra_20261205.txt", "kra_20261205.txt", 7, 7, 0},               // the same line
		{"hist_2026-12-01_2026-12-09.txt", "x_2026-12-05.txt", 1, 1, 1}, // a range: its last day
	} {
		got := investors.FeedOrder(investors.FeedLine{File: c.a, Line: c.la}, investors.FeedLine{File: c.b, Line: c.lb})
		back := investors.FeedOrder(investors.FeedLine{File: c.b, Line: c.lb}, investors.FeedLine{File: c.a, Line: c.la})
		if got != c.want || back != -c.want {
			t.Errorf("FeedOrder(%s:%d, %s:%d) = %d (reversed %d), want %d", c.a, c.la, c.b, c.lb, got, back, c.want)
		}
	}
}

// Merge at the same status time: the later feed line wins, an earlier one
// changes nothing; a state whose line is not known (from before the order
// was kept) takes the record, as before.
func TestMergeSameTimeByFeedLine(t *testing.T) {
	at := time.Date(2026, 8, 19, 12, 30, 0, 0, time.UTC)
	rec := func(file string, line int, st kyc.Status, remarks string) kra.Record {
		return kra.Record{Kind: kra.KindStatus, KRA: "CVL", Code: "03", Status: st, At: at, Remarks: remarks,
			From: fund.Origin{File: file, SHA256: "x", Line: line}}
	}
	cur, _ := investors.Merge(investors.KYCState{}, false, rec("kra_20260820.txt", 4, kyc.OnHold, "proof sent"))
	if cur.StatusFrom != (investors.FeedLine{File: "kra_20260820.txt", Line: 4}) || cur.AadhaarFrom.File != "" {
		t.Fatalf("origins %+v / %+v, want the status's line only", cur.StatusFrom, cur.AadhaarFrom)
	}
	for _, c := range []struct {
		name    string
		cur     investors.KYCState
		r       kra.Record
		changed bool
	}{
		{"an older file's line", cur, rec("kra_20260819.txt", 9, kyc.OnHold, "address mismatch"), false},
		{"an older file's other status", cur, rec("kra_20260819.txt", 2, kyc.Validated, ""), false},
		{"an earlier line of the same file", cur, rec("kra_20260820.txt", 3, kyc.OnHold, "x"), false},
		{"the same line", cur, rec("kra_20260820.txt", 4, kyc.OnHold, "other"), false},
		{"a later line of the same file", cur, rec("kra_20260820.txt", 5, kyc.OnHold, "y"), true},
		{"a newer file", cur, rec("kra_20260821.txt", 1, kyc.Validated, ""), true},
		{"a newer file saying the same", cur, rec("kra_20260821.txt", 1, kyc.OnHold, "proof sent"), false},
		{"a line on file not known", investors.KYCState{Status: kyc.OnHold, KRA: "CVL", Code: "03", At: at, Remarks: "proof sent"},
			rec("kra_20260819.txt", 9, kyc.OnHold, "address mismatch"), true},
	} {
		if _, changed := investors.Merge(c.cur, true, c.r); changed != c.changed {
			t.Errorf("%s: changed %t, want %t", c.name, changed, c.changed)
		}
	}
}
