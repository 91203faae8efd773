package api

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
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
	x := StatementExtras{PAN: s.openPII(p, st.Investor.ID, "pan", st.Investor.PANSealed), Now: s.cfg.Now()}
	if s.cfg.Tax != nil { // the folio's capital gains of the FY the statement ends in
		if x.Gains, err = s.cfg.Tax.Statement(r.Context(), st.Investor.ID, ftax.FYOf(st.To)); err != nil {
			return err
		}
	}
	if x.Wallets, err = s.statementWallets(r.Context(), folio, st.From, st.To); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := RenderStatement(&buf, st, x); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", disposition("inline", "statement", folio, st.From.String(), st.To.String(), ".pdf"))
	w.Header().Set("Cache-Control", "no-store")
	_, err = buf.WriteTo(w)
	return err
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
		_, n := utf8.DecodeLastRuneInString(s) // a whole letter of UTF-8 text; one byte of cp1252
		s = s[:len(s)-n]
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
	px, py, step, maxY := chartScale(pts, left, top, right, bottom)
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

// chartScale maps a series onto the plot box: px places a date, py a
// rupee amount (floats: positions only), the axis step and top value are
// round numbers (niceStep) covering the largest value or invested amount.
func chartScale(pts []readmodel.SeriesPoint, left, top, right, bottom float64) (px func(fund.Date) float64, py func(decimal.Decimal) float64, step, maxY float64) {
	maxV := 0.0
	for _, p := range pts {
		v, _ := p.Value.Float64()
		i, _ := p.Invested.Float64()
		maxV = math.Max(maxV, math.Max(v, i))
	}
	step = niceStep(maxV / 4)
	maxY = step * math.Ceil(maxV/step)
	if maxY == 0 {
		maxY = 1
	}
	t0 := pts[0].Date.Time()
	span := pts[len(pts)-1].Date.Time().Sub(t0).Hours()
	if span == 0 {
		span = 24
	}
	px = func(d fund.Date) float64 { return left + (right-left)*d.Time().Sub(t0).Hours()/span }
	py = func(v decimal.Decimal) float64 { f, _ := v.Float64(); return bottom - (bottom-top)*f/maxY }
	return px, py, step, maxY
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
