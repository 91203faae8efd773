package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
)

// `managed fees bill --out DIR` writes <id>.csv and <id>.pdf; the PDF
// (api.RenderInvoicePDF) read back by pdftotext shows the amounts in rupees
// with Indian grouping: 1,06,840.00 + 19,231.20 = 1,26,071.20.
func TestWriteInvoiceFiles(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatalf("pdftotext not found: install poppler-utils (scripts/services.sh up does)")
	}
	inv := wallet.FeeInvoice{ID: "FEE-W1-2026-08-01-2026-08-31", WalletID: "W1", InvestorID: "INV-1",
		From: fund.NewDate(2026, 8, 1), To: fund.NewDate(2026, 8, 31), Status: "due",
		AUMFee: fund.MustAmount("106840.00"), Fee: fund.MustAmount("106840.00"), GST: fund.MustAmount("19231.20"), Total: fund.MustAmount("126071.20")}
	dir := t.TempDir()
	if err := writeInvoice(dir, inv); err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(dir, inv.ID+".csv"))
	if err != nil || !strings.Contains(string(csv), "Total,126071.20") {
		t.Errorf("csv: %v\n%s", err, csv)
	}
	out, err := exec.Command("pdftotext", "-layout", filepath.Join(dir, inv.ID+".pdf"), "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := regexp.MustCompile(`[ \t]+`).ReplaceAllString(string(out), " ")
	for _, want := range []string{"Invoice " + inv.ID, "Management fee (AUM) 1,06,840.00", "GST at 18% 19,231.20", "Total 1,26,071.20"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
}
