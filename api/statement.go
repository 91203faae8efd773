package api

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/readmodel"
)

func (s *Server) statement(w http.ResponseWriter, r *http.Request, p Principal) error {
	folio := r.PathValue("folio")
	from, err := dateParam(r, "from")
	if err != nil {
		return err
	}
	to, err := dateParam(r, "to")
	if err != nil {
		return err
	}
	if to == nil {
		t := s.today()
		to = &t
	}
	if _, err := s.folioFor(r.Context(), p, folio); err != nil {
		return err
	}
	var start fund.Date // zero: from the folio's first transaction
	if from != nil {
		if from.After(*to) {
			return badRequest("from %s is after to %s", from, to)
		}
		start = *from
	}
	st, err := s.store.Statement(r.Context(), folio, start, *to)
	if err != nil {
		return err
	}
	pan := s.openPII(p, st.Investor.ID, "pan", st.Investor.PANSealed)
	var buf bytes.Buffer
	if err := RenderStatement(&buf, st, pan, s.cfg.Now()); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", disposition("inline", "statement", folio, st.From.String(), st.To.String(), ".pdf"))
	w.Header().Set("Cache-Control", "no-store")
	_, err = buf.WriteTo(w)
	return err
}

// RenderStatement draws a folio statement: a summary and a chart of value
// against invested amount on page 1 with the closing holdings, then the
// period's transactions. Numbers are printed exactly as the JSON API gives
// them (no thousands separators), so they can be compared.
func RenderStatement(w *bytes.Buffer, st *readmodel.Statement, pan *string, now time.Time) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Statement of folio "+st.Folio, true)
	pdf.SetCreator("fundflow", true)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AliasNbPages("{nb}")
	tr := pdf.UnicodeTranslatorFromDescriptor("") // UTF-8 → cp1252 for the core fonts
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(120, 120, 120)
		pdf.CellFormat(0, 5, fmt.Sprintf("fundflow statement, folio %s, page %d of {nb}", st.Folio, pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 9, "Account statement", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	panText := "not on record"
	if pan != nil {
		panText = *pan
	}
	for _, l := range []string{
		fmt.Sprintf("Folio %s    Period %s to %s", st.Folio, st.From, st.To),
		fmt.Sprintf("Investor %s (%s)    PAN %s", st.Investor.Name, st.Investor.ID, panText),
		"Generated " + now.Format("2006-01-02 15:04 MST"),
	} {
		pdf.CellFormat(0, 5.5, tr(l), "", 1, "L", false, 0, "")
	}
	pdf.Ln(2)

	c := st.Closing
	xirr := c.XIRRNote
	if c.XIRR != nil {
		xirr = c.XIRR.Mul(decimal.NewFromInt(100)).StringFixed(2) + " % a year"
	}
	pdf.SetFont("Helvetica", "B", 11)
	pdf.CellFormat(0, 7, "Summary (INR)", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	rows := [][2]string{
		{"Opening value (" + st.From.AddDays(-1).String() + ")", st.Opening.Value.StringFixed(2)},
		{"Closing value (" + st.To.String() + ")", c.Value.StringFixed(2)},
		{"Invested (cost of units held)", c.Invested.StringFixed(2)},
		{"Gain", c.Gain.StringFixed(2)},
		{"XIRR", xirr},
	}
	for _, r := range rows {
		pdf.CellFormat(70, 5.5, tr(r[0]), "", 0, "L", false, 0, "")
		pdf.CellFormat(40, 5.5, r[1], "", 1, "R", false, 0, "")
	}
	pdf.Ln(3)
	drawChart(pdf, st.Series, 15, pdf.GetY(), 180, 70)
	pdf.SetY(pdf.GetY() + 78)

	pdf.SetFont("Helvetica", "B", 11)
	pdf.CellFormat(0, 7, "Closing holdings on "+st.To.String(), "", 1, "L", false, 0, "")
	head := []string{"Scheme", "Units", "NAV", "NAV date", "Value", "Invested", "Gain"}
	widths := []float64{62, 20, 18, 20, 20, 20, 20}
	table(pdf, head, widths)
	pdf.SetFont("Helvetica", "", 8)
	for _, h := range c.Holdings {
		nav, date, value, gain := "-", "-", "-", "-"
		if h.NAV != nil {
			nav, date, value, gain = h.NAV.String(), h.NAVDate.String(), h.Value.StringFixed(2), h.Gain.StringFixed(2)
		}
		cells := []string{h.Scheme + " " + h.SchemeName, h.Units, nav, date, value, h.Invested.StringFixed(2), gain}
		for i, v := range cells {
			align := "R"
			if i == 0 {
				align = "L"
				v = fit(pdf, tr(v), widths[i]-1)
			}
			pdf.CellFormat(widths[i], 5, v, "B", 0, align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	if len(c.Holdings) == 0 {
		pdf.CellFormat(0, 5, "No units held.", "", 1, "L", false, 0, "")
	}

	pdf.Ln(4)
	pdf.SetFont("Helvetica", "B", 11)
	pdf.CellFormat(0, 7, fmt.Sprintf("Transactions %s to %s", st.From, st.To), "", 1, "L", false, 0, "")
	head = []string{"NAV date", "Scheme", "Type", "Amount", "Units", "NAV", "Duty/Load"}
	widths = []float64{20, 58, 20, 24, 22, 18, 18}
	table(pdf, head, widths)
	pdf.SetFont("Helvetica", "", 8)
	for _, t := range st.Txs {
		charge := t.StampDuty
		if !t.Issues() {
			charge = t.ExitLoad
		}
		cells := []string{t.NAVDate.String(), t.Scheme + " " + st.Names[t.Scheme], strings.ReplaceAll(t.Kind, "_", " "),
			t.Amount.StringFixed(2), t.Units.String(), t.NAV.String(), charge.StringFixed(2)}
		for i, v := range cells {
			align := "R"
			if i == 1 || i == 2 {
				align = "L"
				v = fit(pdf, tr(v), widths[i]-1)
			}
			pdf.CellFormat(widths[i], 5, v, "B", 0, align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	if len(st.Txs) == 0 {
		pdf.CellFormat(0, 5, "No transactions in the period.", "", 1, "L", false, 0, "")
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("statement pdf: %w", err)
	}
	return pdf.Output(w)
}

func table(pdf *fpdf.Fpdf, head []string, widths []float64) {
	pdf.SetFont("Helvetica", "B", 8)
	pdf.SetFillColor(230, 236, 245)
	for i, h := range head {
		pdf.CellFormat(widths[i], 6, h, "B", 0, "C", true, 0, "")
	}
	pdf.Ln(-1)
}

// fit shortens s with "..." to fit width mm in the current font.
func fit(pdf *fpdf.Fpdf, s string, width float64) string {
	if pdf.GetStringWidth(s) <= width {
		return s
	}
	for len(s) > 0 && pdf.GetStringWidth(s+"...") > width {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// drawChart plots value (blue) and invested amount (grey) over time in the
// box x, y, w, h (mm). Positions are floats; the numbers on the axis are
// rounded for reading only.
func drawChart(pdf *fpdf.Fpdf, pts []readmodel.SeriesPoint, x, y, w, h float64) {
	drawSeries(pdf, chartText{"Value and invested amount (INR)", "Value", "Invested", "No holdings in the period."}, pts, x, y, w, h)
}

// chartText is what drawSeries writes: the title, the legend of the blue
// (Value) and grey (Invested) lines, and the text of an empty chart.
type chartText struct{ title, value, invested, empty string }

// drawSeries is drawChart's plot with its own words (the commission payout
// statement plots this month's accrual against last month's with it).
func drawSeries(pdf *fpdf.Fpdf, txt chartText, pts []readmodel.SeriesPoint, x, y, w, h float64) {
	pdf.SetFont("Helvetica", "B", 11)
	pdf.SetXY(x, y)
	pdf.CellFormat(w, 6, txt.title, "", 0, "L", false, 0, "")
	top, left, right, bottom := y+8, x+18, x+w, y+h
	pdf.SetDrawColor(160, 160, 160)
	pdf.SetLineWidth(0.2)
	pdf.Rect(left, top, right-left, bottom-top, "D")
	if len(pts) == 0 {
		pdf.SetFont("Helvetica", "", 9)
		pdf.SetXY(left, top+(bottom-top)/2)
		pdf.CellFormat(right-left, 5, txt.empty, "", 0, "C", false, 0, "")
		return
	}
	maxV := 0.0
	for _, p := range pts {
		v, _ := p.Value.Float64()
		i, _ := p.Invested.Float64()
		maxV = math.Max(maxV, math.Max(v, i))
	}
	step := niceStep(maxV / 4)
	maxY := step * math.Ceil(maxV/step)
	if maxY == 0 {
		maxY = 1
	}
	t0 := pts[0].Date.Time()
	span := pts[len(pts)-1].Date.Time().Sub(t0).Hours()
	if span == 0 {
		span = 24
	}
	px := func(d fund.Date) float64 { return left + (right-left)*d.Time().Sub(t0).Hours()/span }
	py := func(v decimal.Decimal) float64 { f, _ := v.Float64(); return bottom - (bottom-top)*f/maxY }
	pdf.SetFont("Helvetica", "", 7)
	pdf.SetTextColor(90, 90, 90)
	for v := 0.0; v <= maxY+step/2; v += step {
		yy := bottom - (bottom-top)*v/maxY
		pdf.SetDrawColor(225, 225, 225)
		pdf.Line(left, yy, right, yy)
		pdf.SetXY(x, yy-2)
		pdf.CellFormat(17, 4, fmt.Sprintf("%.0f", v), "", 0, "R", false, 0, "")
	}
	for _, d := range []fund.Date{pts[0].Date, pts[len(pts)/2].Date, pts[len(pts)-1].Date} {
		pdf.SetXY(px(d)-12, bottom+1)
		pdf.CellFormat(24, 4, d.String(), "", 0, "C", false, 0, "")
	}
	line := func(get func(readmodel.SeriesPoint) decimal.Decimal, r, g, b int, width float64) {
		pdf.SetDrawColor(r, g, b)
		pdf.SetLineWidth(width)
		for i := 1; i < len(pts); i++ {
			pdf.Line(px(pts[i-1].Date), py(get(pts[i-1])), px(pts[i].Date), py(get(pts[i])))
		}
		if len(pts) == 1 {
			pdf.Line(px(pts[0].Date)-1, py(get(pts[0])), px(pts[0].Date)+1, py(get(pts[0])))
		}
	}
	line(func(p readmodel.SeriesPoint) decimal.Decimal { return p.Invested }, 140, 140, 140, 0.6)
	line(func(p readmodel.SeriesPoint) decimal.Decimal { return p.Value }, 20, 90, 200, 0.8)
	// Legend.
	pdf.SetLineWidth(0.8)
	pdf.SetDrawColor(20, 90, 200)
	pdf.Line(left+4, top+4, left+12, top+4)
	pdf.SetDrawColor(140, 140, 140)
	pdf.Line(left+4, top+9, left+12, top+9)
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont("Helvetica", "", 8)
	pdf.SetXY(left+13, top+2)
	pdf.CellFormat(30, 4, txt.value, "", 0, "L", false, 0, "")
	pdf.SetXY(left+13, top+7)
	pdf.CellFormat(30, 4, txt.invested, "", 0, "L", false, 0, "")
	pdf.SetLineWidth(0.2)
}

// niceStep rounds a raw axis step up to 1, 2 or 5 × a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}
