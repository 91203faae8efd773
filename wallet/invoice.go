package wallet

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/go-pdf/fpdf"
)

// invoiceLines are an invoice's lines: description, amount (INR).
func invoiceLines(inv FeeInvoice) [][2]string {
	lines := [][2]string{}
	// One line per rate: the days it was in effect (a mid-period change
	// shows both).
	type run struct {
		rate     string
		from, to string
		days     int
		aumFirst string
	}
	var runs []run
	for _, d := range inv.Accrual.Days {
		r := d.Percent.String()
		if len(runs) == 0 || runs[len(runs)-1].rate != r {
			runs = append(runs, run{rate: r, from: d.Date.String(), aumFirst: d.AUM.String()})
		}
		runs[len(runs)-1].to = d.Date.String()
		runs[len(runs)-1].days++
	}
	for _, r := range runs {
		lines = append(lines, [2]string{fmt.Sprintf("Management fee accrual at %s%% a year, %s to %s (%d days)", r.rate, r.from, r.to, r.days), ""})
	}
	lines = append(lines, [2]string{"Management fee (AUM)", inv.AUMFee.String()})
	if inv.Perf != nil {
		lines = append(lines, [2]string{fmt.Sprintf("Performance fee: gain %s above %s (high-water mark %s)", inv.Perf.Gain, inv.Perf.Threshold, inv.Perf.HWMBefore), inv.PerfFee.String()})
	}
	lines = append(lines,
		[2]string{"Fee", inv.Fee.String()},
		[2]string{"GST at 18%", inv.GST.String()},
		[2]string{"Total", inv.Total.String()})
	return lines
}

// WriteInvoiceCSV writes an invoice as CSV: a header, then its lines.
func WriteInvoiceCSV(w io.Writer, inv FeeInvoice) error {
	cw := csv.NewWriter(w)
	rows := [][]string{
		{"invoice_id", "wallet_id", "investor_id", "period_from", "period_to", "status"},
		{inv.ID, inv.WalletID, inv.InvestorID, inv.From.String(), inv.To.String(), inv.Status},
		{},
		{"line", "amount_inr"},
	}
	for _, l := range invoiceLines(inv) {
		rows = append(rows, []string{l[0], l[1]})
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("invoice %s csv: %w", inv.ID, err)
	}
	return nil
}

// WriteInvoicePDF writes an invoice as a one-page PDF (go-pdf/fpdf, as the
// statement PDF).
func WriteInvoicePDF(w io.Writer, inv FeeInvoice) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Fee invoice "+inv.ID, true)
	pdf.SetCreator("fundflow", true)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 9, "Tax invoice: managed portfolio fees", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range []string{"Invoice " + inv.ID, "Wallet " + inv.WalletID + ", investor " + inv.InvestorID,
		"Period " + inv.From.String() + " to " + inv.To.String(), "Status " + inv.Status} {
		pdf.CellFormat(0, 5.5, tr(l), "", 1, "L", false, 0, "")
	}
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(140, 6, "Description", "B", 0, "L", false, 0, "")
	pdf.CellFormat(40, 6, "INR", "B", 1, "R", false, 0, "")
	pdf.SetFont("Helvetica", "", 9)
	for _, l := range invoiceLines(inv) {
		pdf.CellFormat(140, 5.5, tr(l[0]), "", 0, "L", false, 0, "")
		pdf.CellFormat(40, 5.5, l[1], "", 1, "R", false, 0, "")
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("invoice %s pdf: %w", inv.ID, err)
	}
	return nil
}
