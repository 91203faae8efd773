package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/api"
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

func TestStatementPDFRendersTheAPIsNumbers(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	tok := investor(t, "INV-1")
	status, h, pdf := e.get(t, "/v1/folios/F-1/statement.pdf?from=2024-01-01&to=2024-12-31", tok)
	if status != 200 || h.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("%d %s %.40q", status, h.Get("Content-Type"), pdf)
	}
	if keep := os.Getenv("FUNDFLOW_KEEP_PDF"); keep != "" { // to look at it
		os.WriteFile(keep, pdf, 0o644)
	}
	img, text := pdfPage1(t, pdf)
	share, blue := inked(img)
	if share < 0.02 || blue < 50 {
		t.Fatalf("page 1 looks blank: %.3f of pixels inked, %d blue", share, blue)
	}
	// The closing numbers are the portfolio API's as of the statement's end.
	status, _, body := e.get(t, "/v1/folios/F-1/portfolio?as_of=2024-12-31", tok)
	if status != 200 {
		t.Fatalf("portfolio: %d %s", status, body)
	}
	var p portfolioResp
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	want := []string{p.Value.StringFixed(2), p.Invested.StringFixed(2), p.Gain.StringFixed(2), "XXXXXX234F"}
	for _, h := range p.Holdings {
		want = append(want, h.Units, h.Value.StringFixed(2), h.Invested.StringFixed(2), h.Gain.StringFixed(2), h.NAVDate.String())
	}
	// And the period's transactions, as the transactions API lists them.
	status, _, body = e.get(t, "/v1/folios/F-1/transactions?limit=500", tok)
	var page struct {
		Items []struct {
			Amount, Units, NAVDate string
		} `json:"items"`
	}
	if status != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) != 4 {
		t.Fatalf("transactions: %d %s", status, body)
	}
	for _, it := range page.Items {
		want = append(want, it.Amount)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF text lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "ABCDE1234F") {
		t.Error("clear PAN in an investor's statement")
	}
	// Hand-checked anchors (ledgerfix.Sample): closing value 15698.84, 899.930 units of 100001.
	for _, w := range []string{"15698.84", "899.930", "13498.95", "5500.00"} {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF text lacks %q", w)
		}
	}
	// Compliance sees the PAN.
	_, _, pdf = e.get(t, "/v1/folios/F-1/statement.pdf?from=2024-01-01&to=2024-12-31", token(t, claims(api.RoleCompliance, "c", time.Hour)))
	if _, text := pdfPage1(t, pdf); !strings.Contains(text, "ABCDE1234F") {
		t.Error("compliance statement lacks the PAN")
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
