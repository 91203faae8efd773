package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/tax"
)

// The capital-gains PDF (gopdf, like the folio statement) shows the JSON
// route's numbers: every page rendered by poppler, fonts embedded, and
// each lot's folio, dates, units, section and amounts (Indian grouping by
// the test's own route, grouped) in pdftotext's text, with the totals.
func TestCapitalGainsPDFShowsTheAPIsNumbers(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	tok := investor(t, "INV-1")
	status, _, body := e.get(t, "/v1/investors/INV-1/capital-gains?fy=2024-25", tok)
	type lot struct {
		Folio, Bought, Sold, Units, NAV, Gain string
		RateSection                           string `json:"rate_section"`
		CostActual                            string `json:"cost_actual"`
		CostUsed                              string `json:"cost_used"`
		SaleGross                             string `json:"sale_gross"`
		SaleValue                             string `json:"sale_value"`
	}
	type totals struct {
		CostUsed  string `json:"cost_used"`
		SaleValue string `json:"sale_value"`
		Gain      string
	}
	var st struct { // the JSON as a client reads it
		Schemes []struct {
			Scheme string `json:"scheme_code"`
			ISIN   string
			Lots   []lot
			Totals totals
		}
		Totals        totals
		LTCGExemption string `json:"ltcg_112a_exemption"`
		Taxable112A   string `json:"ltcg_112a_taxable"`
	}
	if status != 200 {
		t.Fatalf("json: %d %s", status, body)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("json: %v %s", err, body)
	}
	status, _, pdf := e.get(t, "/v1/investors/INV-1/capital-gains?fy=2024-25&format=pdf", tok)
	if status != 200 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("pdf: %d %.100s", status, pdf)
	}
	testkit.EmbeddedFonts(t, pdf)
	imgs, pages := pdfPages(t, pdf)
	for i, img := range imgs {
		if share, _ := inked(img); share < 0.002 {
			t.Errorf("page %d is blank (%.4f inked)", i+1, share)
		}
	}
	text := strings.Join(pages, "\n")
	want := []string{"Capital gains and IDCW statement, FY 2024-25", "Summary (₹)", grouped(st.Totals.Gain),
		grouped(st.LTCGExemption), grouped(st.Taxable112A), fmt.Sprintf("page %d of %d", len(pages), len(pages))}
	lots := 0
	for _, s := range st.Schemes {
		want = append(want, s.Scheme, s.ISIN, grouped(s.Totals.CostUsed), grouped(s.Totals.SaleValue))
		for _, l := range s.Lots {
			lots++
			want = append(want, l.Folio, l.Bought, l.Sold, l.Units, l.NAV, l.RateSection,
				grouped(l.CostActual), grouped(l.CostUsed), grouped(l.SaleGross), grouped(l.SaleValue), grouped(l.Gain))
		}
	}
	if lots == 0 {
		t.Fatalf("the sample ledger has no transfer in FY 2024-25: %s", body)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF's text lacks the API's %q:\n%s", w, text)
		}
	}
}

// A long capital-gains statement (A4 landscape) runs onto more pages, each
// with the lots' column headers again and its page number; every lot's row
// is on some page once; Schedule 112A and the TDS lines are drawn. Pure
// rendering, no database. 90 long-term equity lots of 10.000 units bought
// 2019-05-0x for 1,000.00, sold 2024-09-02 at 150.0000: sale 1,500.00,
// gain 500.00 each, so 45,000.00 in all.
func TestCapitalGainsPDFHeadersOnEveryPage(t *testing.T) {
	t.Parallel()
	d := func(s string) fund.Date { x, _ := fund.ParseISODate(s); return x }
	var lines []tax.LotLine
	var gs []ftax.LotGain
	for i := 0; i < 90; i++ {
		g := ftax.LotGain{SchemeType: ftax.Equity, Bought: d("2019-05-01").AddDays(i % 28), Sold: d("2024-09-02"),
			Units: fund.MustUnits("10.000", 3), NAV: fund.MustNAV("150.0000"), Term: ftax.Long, RateSection: "112A", RatePct: "12.5",
			CostActual: fund.MustAmount("1000.00"), CostUsed: fund.MustAmount("1000.00"), SaleGross: fund.MustAmount("1500.00"),
			SaleValue: fund.MustAmount("1500.00"), Gain: fund.MustAmount("500.00")}
		gs = append(gs, g)
		lines = append(lines, tax.LotLine{Folio: fmt.Sprintf("FOLIO-%03d", i), TxID: int64(i), Kind: "redemption", LotGain: g})
	}
	tot := ftax.Sum(gs)
	st := &tax.Statement{InvestorID: "INV-9", FY: ftax.FY{Start: 2024}, From: d("2024-04-01"), To: d("2025-03-31"),
		Schemes: []tax.SchemeGains{{Scheme: "100001", Name: "Alpha Large Cap Fund - Direct Plan - Growth", ISIN: "INF000A01001",
			SchemeType: ftax.Equity, Lots: lines, Totals: tot}},
		Totals: tot, LTCGExemption: fund.MustAmount("125000.00")}
	tds := ftax.TDSSummary{FY: ftax.FY{Start: 2024}, Gross: fund.MustAmount("6000.00"), Tax: fund.MustAmount("600.00"),
		Lines: []ftax.TDSLine{{AMC: "Alpha AMC", Section: "194K", Credits: 2, Gross: fund.MustAmount("6000.00"), Tax: fund.MustAmount("600.00")}}}
	var buf bytes.Buffer
	if err := api.RenderTaxStatement(&buf, st, tds, "Ravi Kumar", "1 Long Street, Pune 411001", time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	testkit.EmbeddedFonts(t, buf.Bytes())
	imgs, pages := pdfPages(t, buf.Bytes())
	if len(pages) < 3 {
		t.Fatalf("%d pages for 90 lots and their 112A rows", len(pages))
	}
	if b := imgs[0].Bounds(); b.Dx() <= b.Dy() {
		t.Errorf("page 1 is %dx%d: not landscape", b.Dx(), b.Dy())
	}
	if green(imgs[0]) < 20 {
		t.Error("page 1 has no green gain bar")
	}
	for i, img := range imgs { // text is black, not a fill's colour
		if n := dark(img); n < 150 {
			t.Errorf("page %d has %d dark pixels: its text is not black", i+1, n)
		}
	}
	rows := 0
	for i, p := range pages {
		n := strings.Count(p, "FOLIO-")
		if n > 0 && !strings.Contains(p, "Cost used") {
			t.Errorf("page %d has lot rows but no column header:\n%s", i+1, p)
		}
		if !strings.Contains(p, fmt.Sprintf("page %d of %d", i+1, len(pages))) {
			t.Errorf("page %d lacks its number", i+1)
		}
		rows += n
	}
	all := strings.Join(pages, "\n")
	for i := 0; i < 90; i++ {
		if c := strings.Count(all, fmt.Sprintf("FOLIO-%03d", i)); c != 1 {
			t.Errorf("FOLIO-%03d is on the pages %d times", i, c)
		}
	}
	if rows != 90 {
		t.Errorf("%d lot rows over the pages, want 90", rows)
	}
	for _, w := range []string{"45,000.00", "1,25,000.00", "Schedule 112A", "INF000A01001", "194K", "6,000.00", "5,400.00",
		"Ravi Kumar", "Generated 02-Apr-2025 05:30 IST", "not tax advice"} {
		if !strings.Contains(all, w) {
			t.Errorf("the PDF lacks %q", w)
		}
	}
}

// pixels counts the pixels of img whose colour (8-bit r, g, b) is, by is.
func pixels(img image.Image, is func(r, g, b uint32) bool) int {
	bounds := img.Bounds()
	n := 0
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if is(r>>8, g>>8, b>>8) {
				n++
			}
		}
	}
	return n
}

// dark counts near-black pixels (text).
func dark(img image.Image) int {
	return pixels(img, func(r, g, b uint32) bool { return r < 110 && g < 110 && b < 110 })
}

// green counts the gain bars' green pixels.
func green(img image.Image) int {
	return pixels(img, func(r, g, b uint32) bool { return r < 90 && g > 120 && b < 120 })
}

// The commission payout PDF (gopdf, the folio statement's helpers and
// font) shows the payout API's numbers: every page rendered by poppler,
// fonts embedded, the summary amounts as the JSON gives them, the lines,
// and the chart's blue line of this month's accrual.
func TestPayoutPDFShowsTheAPIsNumbers(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *api.Config) { c.Distributors = fakeDistributors{} })
	tok := distributor(t, "ARN-1")
	status, _, body := e.get(t, "/v1/distributors/SUB-A/payouts/2024-04", tok)
	var p api.DistributorPayout
	if status != 200 || json.Unmarshal(body, &p) != nil {
		t.Fatalf("json: %d %s", status, body)
	}
	status, h, pdf := e.get(t, "/v1/distributors/SUB-A/payouts/2024-04/statement.pdf", tok)
	if status != 200 || h.Get("Content-Type") != "application/pdf" {
		t.Fatalf("pdf: %d %v", status, h)
	}
	testkit.EmbeddedFonts(t, pdf)
	imgs, pages := pdfPages(t, pdf)
	text := strings.Join(pages, "\n")
	s := p.Statement
	for _, w := range []string{"Commission payout statement", "Payee SUB-A", "Month 2024-04", "Payout date " + s.PayoutDate.String(), "Summary (₹)",
		"Trail", s.Trail.String(), "Gross", s.Gross.String(), "TDS u/s 194H at " + s.TDSPct.String() + " %", s.TDS.Neg().String(),
		"Net payable", s.Net.String(), "Clawback", "-1.00", "ARN-1", "Month before", fmt.Sprintf("page 1 of %d", len(pages))} {
		if !strings.Contains(text, w) {
			t.Errorf("the payout PDF lacks %q:\n%s", w, text)
		}
	}
	blue := pixels(imgs[0], func(r, g, b uint32) bool { return r < 80 && g < 140 && b > 160 })
	if blue < 20 {
		t.Errorf("page 1 has %d blue pixels: no accrual line", blue)
	}
}
