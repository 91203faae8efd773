package wallet_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/wallet"
)

// invoicePDFText renders the invoice's PDF and reads it back with poppler's
// pdftotext (a reader independent of the writer), whitespace collapsed; it
// returns the PDF's path too.
func invoicePDFText(t *testing.T, inv wallet.FeeInvoice) (text, path string) {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdffonts"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install poppler-utils (scripts/services.sh up does)", tool)
		}
	}
	var b bytes.Buffer
	if err := api.RenderInvoicePDF(&b, inv); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return regexp.MustCompile(`[ \t]+`).ReplaceAllString(string(out), " "), in
}

// The invoice PDF shows the amounts the database holds for it (read back
// from fee_invoices, not from the struct rendered), in rupees with Indian
// digit grouping, in an embedded font that has the ₹ sign.
func TestInvoicePDFShowsTheDBsNumbers(t *testing.T) {
	e, f := feesEnv(t)
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 1, 1), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum) VALUES ('W1', '2026-08-31', 0, 112000, 112000)`)
	// deposits 1,00,000, end 1,12,000: gain 12,000 × 20 % = 2,400.00;
	// GST 432.00; total 2,832.00
	inv, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 8, 31), fund.NewDate(2026, 8, 31), true)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.Fields(e.db.Str(`SELECT concat_ws(' ', id, aum_fee, perf_fee, fee, gst, total) FROM fee_invoices`))
	if len(db) != 6 || db[0] != inv.ID {
		t.Fatalf("fee_invoices: %q", db)
	}
	text, pdf := invoicePDFText(t, inv)
	// the database's numbers, grouped by hand: 0.00, 2400.00 → 2,400.00 …
	if strings.Join(db[1:], " ") != "0.00 2400.00 2400.00 432.00 2832.00" {
		t.Fatalf("fee_invoices amounts %q, want the hand-computed 0.00 2400.00 2400.00 432.00 2832.00", db[1:])
	}
	for _, want := range []string{"Invoice " + db[0], "Period 2026-08-31 to 2026-08-31", "Amount (₹)",
		"Management fee (AUM) 0.00", "Performance fee: gain 12000.00", "2,400.00", "Fee 2,400.00", "GST at 18% 432.00", "Total 2,832.00",
		"page 1 of 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	pdfBytes, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	testkit.EmbeddedFonts(t, pdfBytes)
}
