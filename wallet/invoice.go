package wallet

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/fundflow/fundflow/fund"
)

// InvoiceLine is one line of an invoice: what it is and, for a charge,
// its amount (nil: a line that only explains, as an accrual's rate run).
type InvoiceLine struct {
	Text   string
	Amount *fund.Amount
}

// InvoiceLines are an invoice's lines, the CSV's and the PDF's
// (api.RenderInvoicePDF).
func InvoiceLines(inv FeeInvoice) []InvoiceLine {
	var lines []InvoiceLine
	// One line per rate: the days it was in effect (a mid-period change
	// shows both).
	type run struct {
		rate     string
		from, to string
		days     int
	}
	var runs []run
	if inv.Note != "" {
		lines = append(lines, InvoiceLine{Text: inv.Note})
	}
	for _, d := range inv.Accrual.Days {
		r := d.Percent.String()
		if len(runs) == 0 || runs[len(runs)-1].rate != r {
			runs = append(runs, run{rate: r, from: d.Date.String()})
		}
		runs[len(runs)-1].to = d.Date.String()
		runs[len(runs)-1].days++
	}
	for _, r := range runs {
		lines = append(lines, InvoiceLine{Text: fmt.Sprintf("Management fee accrual at %s%% a year, %s to %s (%d days)", r.rate, r.from, r.to, r.days)})
	}
	amt := func(text string, a fund.Amount) InvoiceLine { return InvoiceLine{Text: text, Amount: &a} }
	if len(inv.Accrual.Days) > 0 || inv.Perf == nil || inv.AUMFee.Sign() != 0 { // not a performance fee alone (a pool member's exit)
		lines = append(lines, amt("Management fee (AUM)", inv.AUMFee))
	}
	if inv.Perf != nil {
		lines = append(lines, amt(fmt.Sprintf("Performance fee: gain %s above %s (high-water mark %s)", inv.Perf.Gain, inv.Perf.Threshold, inv.Perf.HWMBefore), inv.PerfFee))
	}
	return append(lines, amt("Fee", inv.Fee), amt("GST at 18%", inv.GST), amt("Total", inv.Total))
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
	switch {
	case inv.PoolID != "" && inv.WalletID != "": // a pool member's exit fee
		rows[0] = []string{"invoice_id", "pool_id", "wallet_id", "period_from", "period_to", "status"}
		rows[1] = []string{inv.ID, inv.PoolID, inv.WalletID, inv.From.String(), inv.To.String(), inv.Status}
	case inv.PoolID != "": // a pool's: no wallet or investor
		rows[0] = []string{"invoice_id", "pool_id", "period_from", "period_to", "status"}
		rows[1] = []string{inv.ID, inv.PoolID, inv.From.String(), inv.To.String(), inv.Status}
	}
	for _, l := range InvoiceLines(inv) {
		a := ""
		if l.Amount != nil {
			a = l.Amount.String()
		}
		rows = append(rows, []string{l.Text, a})
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("invoice %s csv: %w", inv.ID, err)
	}
	return nil
}
