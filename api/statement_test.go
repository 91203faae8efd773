package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/readmodel"
	"github.com/fundflow/fundflow/tax"
	taxpg "github.com/fundflow/fundflow/tax/pgstore"
)

// pdfPage1 renders page 1 of a PDF to an image with poppler's pdftoppm (a
// reader independent of the writer) and returns it with the PDF's text.
func pdfPage1(t *testing.T, pdf []byte) (image.Image, string) {
	t.Helper()
	for _, tool := range []string{"pdftoppm", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install poppler-utils (scripts/services.sh up does)", tool)
		}
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "s.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", in, filepath.Join(dir, "p1")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "p1.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("pdftotext", "-layout", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return img, string(text)
}

// inked returns the share of pixels that are not near-white, and the number
// of strongly blue ones (the chart's value line is drawn blue).
func inked(img image.Image) (float64, int) {
	b := img.Bounds()
	var ink, blue int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 235 || g < 235 || bl < 235 {
				ink++
			}
			if bl > 150 && r < 100 && g < 140 {
				blue++
			}
		}
	}
	return float64(ink) / float64(b.Dx()*b.Dy()), blue
}

// pdfPages renders every page of a PDF with pdftoppm and returns each
// page's text (pdftotext -layout, page by page) with the images.
func pdfPages(t *testing.T, pdf []byte) ([]image.Image, []string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "s.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "50", in, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "p-*.png"))
	sort.Strings(names)
	var imgs []image.Image
	var texts []string
	for i, n := range names {
		f, err := os.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
		p := strconv.Itoa(i + 1)
		text, err := exec.Command("pdftotext", "-layout", "-f", p, "-l", p, in, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		texts = append(texts, string(text))
	}
	if len(imgs) == 0 {
		t.Fatal("pdftoppm rendered no page")
	}
	return imgs, texts
}

// grouped writes a decimal string's whole part in the Indian system, by a
// route of its own (right to left, a comma after the first three digits
// and after every two more): "1234567.89" → "12,34,567.89".
func grouped(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var out []byte
	for i, n := len(whole)-1, 0; i >= 0; i, n = i-1, n+1 {
		if n == 3 || (n > 3 && (n-3)%2 == 0) {
			out = append(out, ',')
		}
		out = append(out, whole[i])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	r := string(out) + "." + frac
	if neg {
		r = "-" + r
	}
	return r
}

func TestGroupedByHand(t *testing.T) {
	for in, want := range map[string]string{"0.50": "0.50", "999.00": "999.00", "1000.00": "1,000.00", "15698.84": "15,698.84",
		"123456.00": "1,23,456.00", "1234567.89": "12,34,567.89", "-12345678.00": "-1,23,45,678.00"} {
		if got := grouped(in); got != want {
			t.Errorf("grouped(%s) = %s, want %s", in, got, want)
		}
	}
}

// The folio statement an investor would file (issue 17): what it shows is
// the APIs' numbers (portfolio, transactions, capital gains), with every
// page rendered by poppler (a reader independent of the writer) and drawn
// on, fonts embedded, ₹ with Indian grouping, the full scheme name with
// plan, option and ISIN not cut, the investor's name and address, the
// generation time in IST, stamp duty / exit load / net apart, a running
// unit balance that ends on the portfolio's units, the IDCW received, the
// FY's capital gains of the folio, and the disclaimer.
func TestStatementPDFRendersTheAPIsNumbers(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	tok := investor(t, "INV-1")
	// A long AMFI name, a plan, an option and ISINs for 100001.
	const long = "Alpha Flexi Cap Fund of the Very Long Name Series Including Everything an AMC Could Put Into One"
	if _, err := e.store.PG.Exec(ctx, `UPDATE schemes SET name = $1, plan = 'Regular Plan', option = 'IDCW Option',
		isin_growth = 'INF000A01234', isin_reinvest = 'INF000A01242' WHERE code = '100001'`, long); err != nil {
		t.Fatal(err)
	}
	// An IDCW paid out on 100001: 899.930 units held on 2-Sep-2024 at ₹1.00
	// a unit is ₹899.93 gross, under the ₹5,000 194K threshold, so no TDS.
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	status, _, out := e.do(t, "POST", "/v1/idcw/declarations", ops,
		`{"id":"D-1","scheme":"100001","record_date":"2024-09-02","ex_date":"2024-09-03","per_unit":"1.00","option":"payout"}`)
	if status != http.StatusCreated {
		t.Fatalf("declare: %d %s", status, out)
	}
	if _, err := (&tax.IDCW{Store: &taxpg.Store{Pool: e.store.PG}}).Run(ctx, "D-1"); err != nil {
		t.Fatal(err)
	}

	status, h, pdf := e.get(t, "/v1/folios/F-1/statement.pdf?from=2024-01-01&to=2024-12-31", tok)
	if status != 200 || h.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("%d %s %.40q", status, h.Get("Content-Type"), pdf)
	}
	if keep := os.Getenv("FUNDFLOW_KEEP_PDF"); keep != "" { // to look at it
		os.WriteFile(keep, pdf, 0o644)
	}
	testkit.EmbeddedFonts(t, pdf)
	imgs, pages := pdfPages(t, pdf)
	for i, img := range imgs {
		if share, _ := inked(img); share < 0.01 {
			t.Errorf("page %d looks blank: %.3f of pixels inked", i+1, share)
		}
		if want := fmt.Sprintf("page %d of %d", i+1, len(imgs)); !strings.Contains(pages[i], want) {
			t.Errorf("page %d lacks %q", i+1, want)
		}
	}
	if _, blue := inked(imgs[0]); blue < 30 {
		t.Errorf("page 1 has %d blue pixels: no value line", blue)
	}
	text := strings.Join(pages, "\n")
	flat := strings.Join(strings.Fields(text), " ")

	// The closing numbers are the portfolio API's as of the statement's end.
	status, _, body := e.get(t, "/v1/folios/F-1/portfolio?as_of=2024-12-31", tok)
	var p portfolioResp
	if status != 200 || json.Unmarshal(body, &p) != nil {
		t.Fatalf("portfolio: %d %s", status, body)
	}
	want := []string{"₹ " + grouped(p.Value.StringFixed(2)), "₹ " + grouped(p.Invested.StringFixed(2)), "₹ " + grouped(p.Gain.StringFixed(2)), "XXXXXX234F"}
	for _, h := range p.Holdings {
		want = append(want, h.Units, grouped(h.Value.StringFixed(2)), grouped(h.Invested.StringFixed(2)), grouped(h.Gain.StringFixed(2)), h.NAVDate.String())
	}
	// Each transaction, as the transactions API lists it: its row shows the
	// amount, stamp duty, exit load and net in their own columns, in order.
	status, _, body = e.get(t, "/v1/folios/F-1/transactions?limit=500", tok)
	var page struct {
		Items []struct {
			Kind      string          `json:"kind"`
			NAVDate   string          `json:"nav_date"`
			Amount    decimal.Decimal `json:"amount"`
			StampDuty decimal.Decimal `json:"stamp_duty"`
			ExitLoad  decimal.Decimal `json:"exit_load"`
			Net       decimal.Decimal `json:"net_amount"`
		} `json:"items"`
	}
	if status != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) != 5 {
		t.Fatalf("transactions: %d %s", status, body)
	}
	for _, it := range page.Items {
		cells := []string{grouped(it.Amount.StringFixed(2)), grouped(it.StampDuty.StringFixed(2)),
			grouped(it.ExitLoad.StringFixed(2)), grouped(it.Net.StringFixed(2))}
		re := regexp.MustCompile(regexp.QuoteMeta(it.NAVDate) + `\s+[A-Za-z ]+?\s+` + strings.Join(quoteAll(cells), `\s+`))
		if !re.MatchString(text) {
			t.Errorf("no row %v (%s) in the PDF:\n%s", cells, it.Kind, text)
		}
	}
	// Hand-checked anchors (ledgerfix.Sample): closing value 15,698.84;
	// 899.930 units of 100001 (999.950 + 399.980 − 500.000) worth
	// 13,498.95; a purchase of 10,000.00 with 0.50 stamp duty, net 9,999.50;
	// the redemption's 500 units (of the first lot, cost 10,000.00 ×
	// 500/999.95 = 5,000.25) sold for 5,500.00: a 111A gain of 499.75 in
	// FY 2024-25; the IDCW: 899.930 × 1.00 = 899.93 gross, no TDS.
	want = append(want, "₹ 15,698.84", "13,498.95", "15.0000", "10,000.00", "9,999.50", "5,500.00", "5,000.25", "499.75", "111A", "899.93",
		"Asha Rao", "12 MG Road, Bengaluru 560001", "Generated 15-Jan-2025 15:30 IST", // 10:00 UTC + 5:30
		"Capital gains of this folio, FY 2024-25", "IDCW received", "Disclaimer", "not a contract note")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF text lacks %q", w)
		}
	}
	// The full name with plan, option and ISINs, whole (wrapped, not cut).
	full := long + " - Regular Plan - IDCW Option (ISIN INF000A01234; IDCW reinvestment INF000A01242) [100001]"
	if !strings.Contains(flat, full) {
		t.Errorf("the full scheme name is not in the PDF whole:\n%s", flat)
	}
	if strings.Contains(text, "...") {
		t.Error("something was cut with ...")
	}
	// The running balance of each scheme closes on the portfolio's units
	// (the portfolio replays the lots: another route to the same number).
	closing := regexp.MustCompile(`Closing balance\s+([0-9.]+)`).FindAllStringSubmatch(text, -1)
	if len(closing) != len(p.Holdings) {
		t.Fatalf("%d closing balances, %d holdings", len(closing), len(p.Holdings))
	}
	for i, h := range p.Holdings {
		if closing[i][1] != h.Units {
			t.Errorf("closing balance of %s: %s, the portfolio holds %s", h.Scheme, closing[i][1], h.Units)
		}
	}
	// Units at the scheme's scale: the opening balance of 100001 is 0.000.
	if !regexp.MustCompile(`Opening balance\s+0\.000\n`).MatchString(text) {
		t.Error("opening balance not at the scheme's 3 decimals")
	}
	if strings.Contains(text, "ABCDE1234F") {
		t.Error("clear PAN in an investor's statement")
	}
	if strings.Contains(text, "STALE NAV") {
		t.Error("a fresh valuation flagged stale")
	}
	// Compliance sees the PAN.
	_, _, pdf = e.get(t, "/v1/folios/F-1/statement.pdf?from=2024-01-01&to=2024-12-31", token(t, claims(api.RoleCompliance, "c", time.Hour)))
	if _, text := pdfPage1(t, pdf); !strings.Contains(text, "ABCDE1234F") {
		t.Error("compliance statement lacks the PAN")
	}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = regexp.QuoteMeta(s)
	}
	return out
}

// Valued months after the last NAV, a statement says so: the holdings'
// NAV date is marked STALE, the header names the stale schemes, and the
// chart draws the stretch valued at the old NAV dashed in orange (not a
// silent flat line). The sample's last NAVs are of 31-Dec-2024; valued on
// 31-Mar-2025 that is 90 days old, over the 5 allowed.
func TestStatementFlagsStaleNAV(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	status, _, pdf := e.get(t, "/v1/folios/F-1/statement.pdf?from=2024-01-01&to=2025-03-31", investor(t, "INV-1"))
	if status != 200 {
		t.Fatalf("%d %s", status, pdf)
	}
	imgs, pages := pdfPages(t, pdf)
	text := strings.Join(pages, "\n")
	for _, w := range []string{"STALE NAV", "2024-12-31 STALE", "Valued at a stale NAV"} {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF lacks %q:\n%s", w, text)
		}
	}
	orange := pixels(imgs[0], func(r, g, b uint32) bool { return r > 200 && g > 80 && g < 160 && b < 60 })
	if orange < 20 {
		t.Errorf("page 1 has %d orange pixels: the stale stretch is not drawn apart", orange)
	}
}

// A long statement runs onto more pages, each with the column headers
// again and its page number; pure rendering, no database.
func TestStatementHeadersOnEveryPage(t *testing.T) {
	t.Parallel()
	d := func(s string) fund.Date { x, _ := fund.ParseISODate(s); return x }
	st := &readmodel.Statement{Folio: "F-9", From: d("2024-01-01"), To: d("2024-12-31"),
		Investor: readmodel.Investor{ID: "INV-9", Name: "Ravi Kumar", Address: "1 Long Street, Pune 411001"},
		Names:    map[string]string{"100001": "Alpha"}, UnitsScale: map[string]int32{"100001": 4},
		OpeningUnits: map[string]decimal.Decimal{}, Opening: &readmodel.Portfolio{}, Closing: &readmodel.Portfolio{}}
	// 150 purchases of 1.2345 units: the balance ends at 150 × 1.2345 = 185.1750
	for i := 0; i < 150; i++ {
		st.Txs = append(st.Txs, readmodel.LedgerTx{ID: int64(i), Kind: "purchase", Scheme: "100001", NAVDate: d("2024-02-01").AddDays(i),
			NAV: decimal.RequireFromString("81.0000"), Units: decimal.RequireFromString("1.2345"), Amount: decimal.RequireFromString("100.00"),
			StampDuty: decimal.RequireFromString("0.01"), Net: decimal.RequireFromString("99.99")})
	}
	var buf bytes.Buffer
	if err := api.RenderStatement(&buf, st, api.StatementExtras{Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	_, pages := pdfPages(t, buf.Bytes())
	if len(pages) < 3 {
		t.Fatalf("%d pages for 150 rows", len(pages))
	}
	rows := 0
	for i, p := range pages {
		if i < len(pages)-1 && !strings.Contains(p, "Unit balance") {
			t.Errorf("page %d has no column header:\n%s", i+1, p)
		}
		if !strings.Contains(p, fmt.Sprintf("page %d of %d", i+1, len(pages))) {
			t.Errorf("page %d lacks its number", i+1)
		}
		rows += strings.Count(p, "Purchase")
	}
	if rows != 150 {
		t.Errorf("%d purchase rows over the pages, want 150", rows)
	}
	if !strings.Contains(pages[len(pages)-1], "185.1750") || !strings.Contains(strings.Join(pages, ""), "Generated 01-Jan-2025 05:30 IST") {
		t.Error("closing balance 185.1750 or IST time missing")
	}
}

func TestStatementOfAnEmptyFolio(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	status, _, pdf := e.get(t, "/v1/folios/F-2/statement.pdf", investor(t, "INV-1"))
	if status != 200 {
		t.Fatalf("%d %s", status, pdf)
	}
	img, text := pdfPage1(t, pdf)
	if share, _ := inked(img); share < 0.005 || !strings.Contains(text, "No transactions in the period") {
		t.Fatalf("empty statement: %.4f inked\n%s", share, text)
	}
}

// A folio number with a '/' (RTAs write them so) does not reach the
// statement's file name: a browser takes the '/' as a folder or cuts the
// name there. Issue 16.
func TestStatementFileNameHasNoSlash(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	if _, err := e.store.PG.Exec(context.Background(), `INSERT INTO folios (folio_no, investor_id) VALUES ('1234567/89', 'INV-1')`); err != nil {
		t.Fatal(err)
	}
	status, h, pdf := e.get(t, "/v1/folios/1234567%2F89/statement.pdf?from=2024-01-01&to=2024-12-31", investor(t, "INV-1"))
	if status != 200 {
		t.Fatalf("%d %s", status, pdf)
	}
	if got, want := h.Get("Content-Disposition"), `inline; filename="statement_1234567_89_2024-01-01_2024-12-31.pdf"`; got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
}
