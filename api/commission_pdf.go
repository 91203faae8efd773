package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signintech/gopdf"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/readmodel"
)

// RenderPayoutPDF draws a payee's monthly commission payout statement (A4
// portrait, with the folio statement's gopdf helpers and embedded font):
// the summary (trail, upfront, event amounts, clawback, gross, GST, TDS,
// net), a chart of the month's trail accrued day by day against the month
// before's, and the lines (column headers on every page, long reasons
// wrapped, never cut). Amounts are printed as the JSON gives them.
func RenderPayoutPDF(w *bytes.Buffer, d commissions.PayoutPDF, now time.Time) error {
	st := d.Statement
	month := d.Month.String()[:7]
	doc, err := newDoc(portraitA4, gopdf.PdfInfo{Title: "Commission payout " + month + " " + st.Payee})
	if err != nil {
		return fmt.Errorf("payout pdf: %w", err)
	}
	doc.font(true, 16)
	doc.text(doc.left, doc.y, doc.right-doc.left, "Commission payout statement", "L")
	doc.y += 9
	doc.para(fmt.Sprintf("Payee %s    Month %s    Payout date %s", st.Payee, month, st.PayoutDate), false, 10, 5.5)
	doc.para("Generated "+now.Format("2006-01-02 15:04 MST"), false, 10, 5.5)
	doc.heading("Summary (₹)")
	neg := func(a fund.Amount) string { return a.Neg().String() } // taken off: shown negative (0.00 stays 0.00)
	rows := [][2]string{
		{"Trail", st.Trail.String()}, {"Upfront", st.Upfront.String()}, {"First SIP and referral", st.Events.String()},
		{"Clawback", neg(st.Clawback)}}
	if !st.BroughtForward.IsZero() {
		rows = append(rows, [2]string{"Brought forward from last month", st.BroughtForward.String()})
	}
	rows = append(rows, [][2]string{{"Gross", st.Gross.String()},
		{"CGST 9 %", st.CGST.String()}, {"SGST 9 %", st.SGST.String()}, {"IGST 18 %", st.IGST.String()},
		{"TDS u/s 194H at " + st.TDSPct.String() + " %", neg(st.TDS)}, {"Net payable", st.Net.String()},
	}...)
	if !st.Carried.IsZero() {
		rows = append(rows, [2]string{"Carried to next month", st.Carried.String()})
	}
	doc.font(false, 10)
	for _, r := range rows {
		doc.text(doc.left, doc.y, 70, r[0], "L")
		doc.text(doc.left+70, doc.y, 40, r[1], "R")
		doc.y += 5.5
	}
	doc.y += 3
	pts := make([]readmodel.SeriesPoint, len(d.This))
	for i, v := range d.This {
		pts[i] = readmodel.SeriesPoint{Date: v.Day, Value: v.Cum}
		if len(d.Prev) > 0 { // the same day of last month, or its last day
			pts[i].Invested = d.Prev[min(i, len(d.Prev)-1)].Cum
		}
	}
	doc.need(86)
	doc.series(chartText{"Trail accrued this month, day by day (₹)", month, "Month before", "No trail accrued."}, pts, doc.left, doc.y, 180, 70)
	doc.y += 82

	doc.heading("Lines")
	cols := []column{{"Bucket", 34, "L"}, {"Kind", 22, "L"}, {"Exact", 34, "R"}, {"Amount", 24, "R"}, {"Reason", 66, "L"}}
	doc.table(cols)
	for _, l := range d.Lines {
		doc.row(cols, []string{l.Bucket, "trail", l.Exact.String(), l.Amount.String(), l.Reason}, false)
	}
	for _, l := range d.EventLines {
		amt := l.Amount.String()
		if l.Kind == commission.KindClawback {
			amt = neg(l.Amount)
		}
		doc.row(cols, []string{l.Bucket, strings.ReplaceAll(string(l.Kind), "_", " "), "", amt, ""}, false)
	}
	doc.header = nil
	doc.y += 2
	doc.para("Rounding: trail accrued exactly, "+commission.LargestRemainder+"; GST and TDS half-up to the paisa on the gross.", false, 8, 4)
	if err := doc.finish(w, func(p, n int) string {
		return fmt.Sprintf("fundflow commission payout, %s, %s, page %d of %d", st.Payee, month, p, n)
	}); err != nil {
		return fmt.Errorf("payout pdf: %w", err)
	}
	return nil
}

// distributorPayoutPDF is GET /v1/distributors/{arn}/payouts/{month}/statement.pdf.
func (s *Server) distributorPayoutPDF(w http.ResponseWriter, r *http.Request, p Principal) error {
	d, arn, month, err := s.distributorFor(r, p)
	if err != nil {
		return err
	}
	doc, ok, err := d.PayoutStatement(r.Context(), arn, month)
	if err != nil {
		return err
	}
	if !ok {
		return notFound()
	}
	var b bytes.Buffer
	if err := RenderPayoutPDF(&b, doc, time.Now().UTC()); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="payout-%s-%s.pdf"`, month.String()[:7], arn))
	_, err = w.Write(b.Bytes())
	return err
}
