package api

import (
	"bytes"
	"fmt"

	"github.com/signintech/gopdf"

	"github.com/fundflow/fundflow/wallet"
)

// RenderInvoicePDF draws a managed portfolio's fee invoice (A4 portrait,
// with the folio statement's gopdf helpers and embedded font, so ₹ prints):
// who and which period, then wallet.InvoiceLines (the CSV's lines) with
// amounts in rupees with Indian digit grouping.
func RenderInvoicePDF(w *bytes.Buffer, inv wallet.FeeInvoice) error {
	doc, err := newDoc(portraitA4, gopdf.PdfInfo{Title: "Fee invoice " + inv.ID})
	if err != nil {
		return fmt.Errorf("invoice %s pdf: %w", inv.ID, err)
	}
	title, who := "Tax invoice: managed portfolio fees", "Wallet "+inv.WalletID+", investor "+inv.InvestorID
	if inv.PoolID != "" {
		title, who = "Tax invoice: investment pool fees", "Pool "+inv.PoolID
		if inv.WalletID != "" { // a member's exit fee
			who += ", member wallet " + inv.WalletID
		}
	}
	doc.font(true, 16)
	doc.text(doc.left, doc.y, doc.right-doc.left, title, "L")
	doc.y += 9
	for _, l := range []string{"Invoice " + inv.ID, who,
		"Period " + inv.From.String() + " to " + inv.To.String(), "Status " + inv.Status} {
		doc.para(l, false, 10, 5.5)
	}
	doc.heading("Lines")
	cols := []column{{"Description", 140, "L"}, {"Amount (₹)", 40, "R"}}
	doc.table(cols)
	lines := wallet.InvoiceLines(inv)
	for i, l := range lines {
		a := ""
		if l.Amount != nil {
			a = inrGroup(*l.Amount)
		}
		doc.row(cols, []string{l.Text, a}, i == len(lines)-1) // the total in bold
	}
	doc.header = nil
	if err := doc.finish(w, func(p, n int) string {
		return fmt.Sprintf("fundflow fee invoice %s, page %d of %d", inv.ID, p, n)
	}); err != nil {
		return fmt.Errorf("invoice %s pdf: %w", inv.ID, err)
	}
	return nil
}
