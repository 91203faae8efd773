package reconreport

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

func nd(s string) decimal.NullDecimal {
	return decimal.NullDecimal{Decimal: decimal.RequireFromString(s), Valid: true}
}

func TestReport(t *testing.T) {
	day := fund.NewDate(2026, 8, 21)
	dir := t.TempDir()
	r, err := New(dir, Run{RunID: 9, Date: day, HoldingsRTAs: []string{"CAMS"}, RTAHoldings: 100, LedgerHoldings: 101})
	if err != nil {
		t.Fatal(err)
	}
	var breaks []fund.Break
	// 12 holding breaks with differences 1..12 units (sign alternating), first seen 0..11 days ago.
	for i := 1; i <= 12; i++ {
		diff := fmt.Sprint(i)
		if i%2 == 0 {
			diff = "-" + diff
		}
		breaks = append(breaks, fund.Break{ID: int64(i), Key: fmt.Sprintf("h|units_mismatch|CAMS|F%d|S", i), Scope: "holding",
			Type: fund.UnitsMismatch, RTA: "CAMS", Folio: fmt.Sprintf("F%d", i), SchemeCode: "S", UnitsDiff: nd(diff),
			RTAUnits: nd("100"), LedgerUnits: nd(nd("100").Decimal.Sub(decimal.RequireFromString(diff)).String()),
			Status: fund.BreakOpen, FirstSeen: day.AddDays(-(i - 1)), LastSeen: day, RTAFile: "f.csv", RTALine: i + 1})
	}
	breaks = append(breaks,
		fund.Break{ID: 20, Key: "t|duplicate|KFINTECH|n:9", Scope: "transaction", Type: fund.Duplicate, RTA: "KFINTECH", Folio: "G",
			RTATxnNo: "9", Status: fund.BreakOpen, FirstSeen: day.AddDays(-40), LastSeen: day, Detail: `sent "twice", really`},
		fund.Break{ID: 21, Key: "t|nav_date_mismatch|CAMS|o:O1", Scope: "transaction", Type: fund.NAVDateMismatch, RTA: "CAMS",
			Folio: "F1", OrderID: "O1", Status: fund.BreakExplained, Cause: fund.CauseAfterCutoff, FirstSeen: day, LastSeen: day,
			RTANAVDate: day, LedgerNAVDate: day.AddDays(-1), UnitsDiff: nd("0")},
		fund.Break{ID: 22, Key: "h|missing_at_rta|CAMS|F9|S", Scope: "holding", Type: fund.MissingAtRTA, RTA: "CAMS", Folio: "F9",
			SchemeCode: "S", Status: fund.BreakResolved, FirstSeen: day.AddDays(-3), LastSeen: day.AddDays(-1), Resolved: day, UnitsDiff: nd("-500")},
	)
	for _, b := range breaks {
		if err := r.Add(b); err != nil {
			t.Fatal(err)
		}
	}
	s, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Ages: units_mismatch first seen 0..11 days ago → 0d:1, 1-2d:2, 3-7d:5, 8-30d:4; the duplicate is 40 days old.
	want := map[string]map[string]int{
		"units_mismatch":    {"0d": 1, "1-2d": 2, "3-7d": 5, "8-30d": 4},
		"duplicate":         {">30d": 1},
		"nav_date_mismatch": {"0d": 1},
	}
	if fmt.Sprint(s.ByTypeAge) != fmt.Sprint(want) || s.Open != 13 || s.Explained != 1 || s.Resolved != 1 || s.New != 2 ||
		s.ByType["units_mismatch"] != 12 || s.ByCause["after_cutoff"] != 1 || s.ByCause["(none inferred)"] != 13 || s.ByRTA["CAMS"] != 13 {
		t.Fatalf("summary %+v", s)
	}
	// The 10 largest of |1..12| (the resolved −500 does not count): 12, 11, ..., 3, with their signs.
	var got []string
	for _, d := range s.Largest {
		got = append(got, d.UnitsDiff)
	}
	if strings.Join(got, " ") != "-12 11 -10 9 -8 7 -6 5 -4 3" {
		t.Fatalf("largest: %v", got)
	}
	f, err := os.Open(filepath.Join(dir, "breaks_20260821.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(breaks) || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("%d csv rows, header %v", len(rows), rows[0])
	}
	col := func(name string) int {
		for i, c := range csvHeader {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	dup := rows[13]
	if dup[col("detail")] != `sent "twice", really` || dup[col("age_days")] != "40" || dup[col("rta_txn_no")] != "9" || dup[col("status")] != "open" {
		t.Fatalf("duplicate row %v", dup)
	}
	if rows[3][col("rta_line")] != "4" || rows[3][col("first_seen")] != "2026-08-19" || rows[3][col("units_diff")] != "3" {
		t.Fatalf("row 3 %v", rows[3])
	}
	var js Summary
	b, err := os.ReadFile(filepath.Join(dir, "summary_20260821.json"))
	if err != nil || json.Unmarshal(b, &js) != nil || js.Open != 13 || len(js.Largest) != 10 {
		t.Fatalf("json summary %s %v", b, err)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "summary_20260821.txt"))
	if err != nil || !strings.Contains(string(txt), "units_mismatch           1       2       5       4       0       12") ||
		!strings.Contains(string(txt), "13 open, 1 explained (2 new today); 1 resolved today") {
		t.Fatalf("text summary:\n%s", txt)
	}
}
