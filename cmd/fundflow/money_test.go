package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// `fundflow run allocate` prints the pass's own counts (allotted, waiting,
// matched) beside the run's in/out, and no fake quarantine reasons: two
// paid orders, the NAV of one of them published, so one allotted and one
// waiting, out of two looked at.
func TestMoneyRunAllocateSummary(t *testing.T) {
	m := newMoney(t)
	m.scheme("100027", "Equity Scheme - Flexi Cap Fund")
	m.scheme("119551", "Equity Scheme - Large Cap Fund")
	m.purchase("S-1", "F1", "100027", "1000.00", "2026-08-24T11:00:00+05:30")
	m.purchase("S-2", "F2", "119551", "2000.00", "2026-08-24T11:00:00+05:30")
	m.pay("S-1", "1000.00", ist("2026-08-24T11:05:00+05:30"))
	m.pay("S-2", "2000.00", ist("2026-08-24T11:05:00+05:30"))
	m.nav("100027", "2026-08-24", "10.")
	var out bytes.Buffer
	if err := cmdAllocate(m.ctx, m.d, &out); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	want := map[string]any{"pipeline": "allocate", "batches": 0., "in": 2., "out": 1., "quarantined": 0., "reasons": map[string]any{},
		"allotted": 1., "waiting": 1., "matched": 0.}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("summary %s, want %v", out.String(), want)
	}
	if s := m.str(`SELECT status FROM orders WHERE id = 'S-1'`); s != "allotted" {
		t.Errorf("S-1 %s", s)
	}
	m.checkLedger()
}
