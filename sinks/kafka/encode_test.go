package kafka

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// reference encodes an event with encoding/json: what the hand-written
// encoder must reproduce byte for byte.
func reference(t testing.TB, n fund.NAVLine) (fact, event []byte) {
	f := NAVFact{SchemeCode: n.SchemeCode, NAVDate: n.Date.String(), NAV: n.NAV.String(), SchemeName: n.SchemeName,
		ISINGrowth: n.ISINGrowth, ISINReinvest: n.ISINReinvest, Plan: n.Plan, Option: n.Option,
		Category: n.Category, SchemeType: n.SchemeType, AMC: n.AMC}
	if n.Repurchase.Valid {
		s := n.Repurchase.Decimal.String()
		f.Repurchase = &s
	}
	if n.Sale.Valid {
		s := n.Sale.Decimal.String()
		f.Sale = &s
	}
	fact, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var ev NAVEvent
	if err := json.Unmarshal(NAVMessage(n).Value, &ev); err != nil {
		t.Fatalf("value is not JSON: %v", err)
	}
	ev.NAVFact = f
	ev.Source = EventSource{File: n.From.File, SHA256: n.From.SHA256, Line: n.From.Line}
	event, err = json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return fact, event
}

func checkSame(t testing.TB, n fund.NAVLine) {
	t.Helper()
	wantFact, wantEvent := reference(t, n)
	if got := appendFact(nil, &NAVFact{SchemeCode: n.SchemeCode, NAVDate: n.Date.String(), NAV: n.NAV.String(), SchemeName: n.SchemeName,
		ISINGrowth: n.ISINGrowth, ISINReinvest: n.ISINReinvest, Plan: n.Plan, Option: n.Option, Category: n.Category,
		SchemeType: n.SchemeType, AMC: n.AMC, Repurchase: ptr(n.Repurchase), Sale: ptr(n.Sale)}); !bytes.Equal(got, wantFact) {
		t.Fatalf("fact\n got %s\nwant %s", got, wantFact)
	}
	if got := NAVMessage(n).Value; !bytes.Equal(got, wantEvent) {
		t.Fatalf("event\n got %s\nwant %s", got, wantEvent)
	}
}

func ptr(d decimal.NullDecimal) *string {
	if !d.Valid {
		return nil
	}
	s := d.Decimal.String()
	return &s
}

// The hand-written encoder writes exactly what encoding/json writes, for
// plain names and for everything JSON must escape.
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	base := navLine("119551", "2026-08-21", "101.2345", "NAVAll.txt", 100)
	for _, tc := range []struct {
		name   string
		change func(n *fund.NAVLine)
	}{
		{"plain", func(n *fund.NAVLine) {}},
		{"every optional field", func(n *fund.NAVLine) {
			n.ISINGrowth, n.ISINReinvest, n.Plan, n.Option = "INF209K01YN0", "INF209K01YO8", "Direct Plan", "IDCW-Re-investment"
			n.Repurchase = decimal.NewNullDecimal(decimal.RequireFromString("100.1"))
			n.Sale = decimal.NewNullDecimal(decimal.RequireFromString("102.3"))
		}},
		{"quotes, backslashes and HTML", func(n *fund.NAVLine) { n.SchemeName = `A "B" \ C <D> & E` }},
		{"control characters", func(n *fund.NAVLine) { n.SchemeName = "tab\tcr\rlf\nbs\bff\fbell\x07nul\x00esc\x1b" }},
		{"unicode and line separators", func(n *fund.NAVLine) { n.AMC = "Tata Mutual Fund – ₹ \u2028\u2029 é" }},
		{"invalid utf-8 (mojibake)", func(n *fund.NAVLine) { n.SchemeName = "Fund \xe2\x80 Growth \xff\xfe" }},
		{"negative line and empty strings", func(n *fund.NAVLine) { n.From.Line = -1; n.Category, n.SchemeType = "", "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := base
			tc.change(&n)
			checkSame(t, n)
		})
	}
}

// Every line of every real NAV file, used as a scheme name, encodes as
// encoding/json would: the mojibake and odd bytes AMFI really sends.
func TestEncoderOnRealFileLines(t *testing.T) {
	for _, name := range []string{"NAVAll_2017-04-13_8col-repurchase-sale.txt", "NAVAll_2025-09-17_CR-CR-LF.txt", "NAVAll_2026-08-21_8col-plan-option.txt"} {
		data, err := os.ReadFile(testkit.Fixture(t, "amfi/navall/"+name))
		if err != nil {
			t.Fatal(err)
		}
		n := navLine("1", "2026-08-21", "10", name, 1)
		for i, l := range strings.Split(string(data), "\n") {
			n.SchemeName, n.From.Line = l, i+1
			checkSame(t, n)
		}
	}
}

func FuzzEncoder(f *testing.F) {
	f.Add("Aditya Birla Sun Life Liquid Fund - Growth", "Direct Plan", "NAVAll.txt", 12)
	f.Add("<a href=\"x\">&amp;</a>", "\u2028", "a\\b", -3)
	f.Add("\xe2\x80\xa8\xed\xa0\x80\xff", "\x00\x1f\x7f", "", 0)
	f.Fuzz(func(t *testing.T, name, plan, file string, line int) {
		n := navLine("119551", "2026-08-21", "101.2345", file, line)
		n.SchemeName, n.Plan = name, plan
		checkSame(t, n)
	})
}
