package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/readmodel"
)

// RenderPayoutPDF draws a payee's monthly commission payout statement: the
// summary (trail, upfront, event amounts, clawback, gross, GST, TDS, net),
// a chart of the month's trail accrued day by day against the month
// before's, and the lines. Amounts are printed as the JSON gives them.
func RenderPayoutPDF(w *bytes.Buffer, d commissions.PayoutPDF, now time.Time) error {
	st := d.Statement
	month := d.Month.String()[:7]
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Commission payout "+month+" "+st.Payee, true)
	pdf.SetCreator("fundflow", true)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AliasNbPages("{nb}")
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(120, 120, 120)
		pdf.CellFormat(0, 5, fmt.Sprintf("fundflow commission payout, %s, %s, page %d of {nb}", st.Payee, month, pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 9, "Commission payout statement", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range []string{
		fmt.Sprintf("Payee %s    Month %s    Payout date %s", st.Payee, month, st.PayoutDate),
		"Generated " + now.Format("2006-01-02 15:04 MST"),
	} {
		pdf.CellFormat(0, 5.5, tr(l), "", 1, "L", false, 0, "")
	}
	pdf.Ln(2)
	pdf.SetFont("Helvetica", "B", 11)
	pdf.CellFormat(0, 7, "Summary (INR)", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
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
	for _, r := range rows {
		pdf.CellFormat(70, 5.5, tr(r[0]), "", 0, "L", false, 0, "")
		pdf.CellFormat(40, 5.5, r[1], "", 1, "R", false, 0, "")
	}
	pdf.Ln(3)
	pts := make([]readmodel.SeriesPoint, len(d.This))
	for i, v := range d.This {
		pts[i] = readmodel.SeriesPoint{Date: v.Day, Value: v.Cum}
		if len(d.Prev) > 0 { // the same day of last month, or its last day
			pts[i].Invested = d.Prev[min(i, len(d.Prev)-1)].Cum
		}
	}
	drawSeries(pdf, chartText{"Trail accrued this month, day by day (INR)", month, "Month before", "No trail accrued."}, pts, 15, pdf.GetY(), 180, 70)
	pdf.SetY(pdf.GetY() + 78)

	pdf.SetFont("Helvetica", "B", 11)
	pdf.CellFormat(0, 7, "Lines", "", 1, "L", false, 0, "")
	head := []string{"Bucket", "Kind", "Exact", "Amount", "Reason"}
	widths := []float64{34, 22, 34, 24, 66}
	table(pdf, head, widths)
	pdf.SetFont("Helvetica", "", 8)
	row := func(cells []string) {
		for i, v := range cells {
			align := "R"
			if i == 0 || i == 1 || i == 4 {
				align = "L"
				v = fit(pdf, tr(v), widths[i]-1)
			}
			pdf.CellFormat(widths[i], 5, v, "B", 0, align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	for _, l := range d.Lines {
		row([]string{l.Bucket, "trail", l.Exact.String(), l.Amount.String(), l.Reason})
	}
	for _, l := range d.EventLines {
		amt := l.Amount.String()
		if l.Kind == commission.KindClawback {
			amt = neg(l.Amount)
		}
		row([]string{l.Bucket, strings.ReplaceAll(string(l.Kind), "_", " "), "", amt, ""})
	}
	pdf.Ln(2)
	pdf.SetFont("Helvetica", "", 8)
	pdf.MultiCell(0, 4, tr("Rounding: trail accrued exactly, "+commission.LargestRemainder+"; GST and TDS half-up to the paisa on the gross."), "", "L", false)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("payout pdf: %w", err)
	}
	return pdf.Output(w)
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
