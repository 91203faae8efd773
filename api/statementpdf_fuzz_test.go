package api_test

import (
	"bytes"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/readmodel"
)

// Whatever an AMFI name, a plan, an ISIN or an investor's name and address
// holds (any UTF-8: Devanagari, emoji, control characters, one unbroken
// 300-letter word), the statement renders: a PDF, never a panic or an
// error (a glyph the font lacks is drawn as its blank box).
func FuzzStatementText(f *testing.F) {
	for _, s := range [][3]string{
		{"Alpha Flexi Cap Fund", "Regular Plan", "Asha Rao, 12 MG Road"},
		{"एचडीएफसी टॉप 100 फंड", "IDCW Option", "राम\nमुंबई"},
		{string(bytes.Repeat([]byte("W"), 300)), "", "\x00\t\r"},
		{"₹ 12,34,567.89 – “quoted” 🙂", "Direct", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	d := func(s string) fund.Date { x, _ := fund.ParseISODate(s); return x }
	f.Fuzz(func(t *testing.T, name, plan, who string) {
		if !utf8.ValidString(name) || !utf8.ValidString(plan) || !utf8.ValidString(who) {
			return // Postgres text holds only UTF-8: no such name reaches here
		}
		st := &readmodel.Statement{Folio: "F-1", From: d("2024-01-01"), To: d("2024-12-31"),
			Investor: readmodel.Investor{ID: "INV-1", Name: who, Address: who + " " + name},
			Names:    map[string]string{"1": name},
			Schemes:  map[string]readmodel.SchemeInfo{"1": {Name: name, Plan: plan, Option: plan, ISINGrowth: plan}},
			Opening:  &readmodel.Portfolio{}, Closing: &readmodel.Portfolio{},
			Txs: []readmodel.LedgerTx{{Kind: "purchase", Scheme: "1", NAVDate: d("2024-02-01"), NAV: decimal.RequireFromString("10"),
				Units: decimal.RequireFromString("1.5"), Amount: decimal.RequireFromString("15"), Net: decimal.RequireFromString("15")}}}
		var buf bytes.Buffer
		if err := api.RenderStatement(&buf, st, api.StatementExtras{Now: time.Unix(0, 0)}); err != nil {
			t.Fatalf("%q %q %q: %v", name, plan, who, err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
			t.Fatal("not a PDF")
		}
	})
}
