package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/fundflow/fundflow/assets/fonts"
	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/tax"
)

// inrGroup writes an amount with Indian digit grouping: 1234567.89 →
// 12,34,567.89 (the last three digits, then pairs).
func inrGroup(a fund.Amount) string {
	s := a.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var parts []string
	if len(whole) > 3 {
		head, tail := whole[:len(whole)-3], whole[len(whole)-3:]
		for len(head) > 2 {
			parts = append([]string{head[len(head)-2:]}, parts...)
			head = head[:len(head)-2]
		}
		parts = append([]string{head}, parts...)
		whole = strings.Join(append(parts, tail), ",")
	}
	if neg {
		whole = "-" + whole
	}
	return whole + "." + frac
}

// istZone is India Standard Time, for the times an investor reads.
var istZone = time.FixedZone("IST", 5*3600+1800)

// RenderTaxStatement draws an investor's capital gains and IDCW for one
// FY with the existing statement's fpdf helpers: a summary by section
// with a chart of the gains, the lots scheme by scheme (column headers
// repeated on every page), the Schedule 112A rows (tax.WriteSchedule112A,
// the same rows the CSV export gives), the IDCW received with its TDS, and
// a disclaimer. Amounts are in rupees (₹) with Indian digit grouping, in
// the embedded DejaVu Sans.
func RenderTaxStatement(w *bytes.Buffer, st *tax.Statement, tds ftax.TDSSummary, investorName, address string, now time.Time) error {
	pdf := fpdf.New("L", "mm", "A4", "")
	fy := st.FY.String()
	pdf.SetTitle("Capital gains and IDCW statement FY "+fy, true)
	pdf.SetCreator("fundflow", true)
	pdf.SetAutoPageBreak(false, 15)
	pdf.AliasNbPages("{nb}")
	// The embedded DejaVu (assets/fonts) under the family the shared
	// helpers (table, fit, drawSeries) set: a real ₹ and any name's
	// letters; text then goes in as UTF-8, untranslated.
	pdf.AddUTF8FontFromBytes("Helvetica", "", fonts.Regular)
	pdf.AddUTF8FontFromBytes("Helvetica", "B", fonts.Bold)
	tr := func(s string) string { return s }
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(120, 120, 120)
		pdf.CellFormat(0, 5, fmt.Sprintf("fundflow capital gains statement, investor %s, FY %s, page %d of {nb}", st.InvestorID, fy, pdf.PageNo()), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	_, pageH := pdf.GetPageSize()
	bottom := pageH - 18
	// rows draws a table whose header is drawn again on every new page
	rows := func(head []string, widths []float64, lines [][]string, left map[int]bool) {
		table(pdf, head, widths)
		pdf.SetFont("Helvetica", "", 7.5)
		for _, cells := range lines {
			if pdf.GetY()+5 > bottom {
				pdf.AddPage()
				table(pdf, head, widths)
				pdf.SetFont("Helvetica", "", 7.5)
			}
			for i, v := range cells {
				align := "R"
				if left[i] {
					align = "L"
					v = fit(pdf, tr(v), widths[i]-1)
				}
				pdf.CellFormat(widths[i], 5, v, "B", 0, align, false, 0, "")
			}
			pdf.Ln(-1)
		}
	}
	heading := func(s string) {
		if pdf.GetY()+20 > bottom {
			pdf.AddPage()
		}
		pdf.Ln(3)
		pdf.SetFont("Helvetica", "B", 11)
		pdf.CellFormat(0, 7, tr(s), "", 1, "L", false, 0, "")
	}

	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 9, "Capital gains and IDCW statement, FY "+fy, "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	name := investorName
	if name == "" {
		name = "-"
	}
	if address == "" {
		address = "not on record"
	}
	for _, l := range []string{
		fmt.Sprintf("Investor %s (%s)    Period %s to %s", name, st.InvestorID, st.From, st.To),
		"Address " + address,
		"Generated " + now.In(istZone).Format("02-Jan-2006 15:04 IST"),
	} {
		pdf.CellFormat(0, 5.5, tr(l), "", 1, "L", false, 0, "")
	}

	heading("Summary (₹)")
	var summary [][]string
	for _, s := range st.Totals.BySection {
		rate := s.RatePct + " %"
		if s.RatePct == "" {
			rate = "slab"
		}
		summary = append(summary, []string{s.Section, string(s.Term), rate, inrGroup(s.Gain)})
	}
	summary = append(summary,
		[]string{"All", "", "", inrGroup(st.Totals.Gain)},
		[]string{"112A exemption", "", "", inrGroup(st.LTCGExemption)},
		[]string{"112A taxable", "", "", inrGroup(st.Taxable112A)},
		[]string{"IDCW received (gross)", "", "", inrGroup(tds.Gross)},
		[]string{"TDS on IDCW", "", "", inrGroup(tds.Tax)})
	y0 := pdf.GetY()
	rows([]string{"Section", "Term", "Rate", "Gain (₹)"}, []float64{40, 18, 18, 34}, summary, map[int]bool{0: true, 1: true})
	gainChart(pdf, st.Totals.BySection, 140, y0, 140, 60)
	if pdf.GetY() < y0+62 {
		pdf.SetY(y0 + 62)
	}
	for _, p := range st.Problems {
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(180, 0, 0)
		pdf.MultiCell(0, 4.5, tr("Left out: "+p), "", "L", false)
		pdf.SetTextColor(0, 0, 0)
	}

	for _, sg := range st.Schemes {
		title := fmt.Sprintf("%s %s, ISIN %s (%s)", sg.Scheme, sg.Name, sg.ISIN, sg.SchemeType)
		if sg.FMVDate != nil {
			title += ", FMV NAV of " + sg.FMVDate.String()
		}
		heading(title)
		var lines [][]string
		for _, l := range sg.Lots {
			fmv := ""
			if l.FMV != nil {
				fmv = inrGroup(*l.FMV)
			}
			lines = append(lines, []string{l.Folio, l.Bought.String(), l.Sold.String(), l.Units.String(), l.NAV.String(), string(l.Term), l.RateSection,
				inrGroup(l.CostActual), fmv, inrGroup(l.CostUsed), inrGroup(l.SaleGross), inrGroup(l.ExitLoad), inrGroup(l.SaleValue), inrGroup(l.Gain)})
		}
		lines = append(lines, []string{"Total", "", "", "", "", "", "", "", "", inrGroup(sg.Totals.CostUsed), "", "", inrGroup(sg.Totals.SaleValue), inrGroup(sg.Totals.Gain)})
		rows([]string{"Folio", "Bought", "Sold", "Units", "NAV", "Term", "Section", "Cost", "FMV 2018", "Cost used", "Sale", "Exit load", "Sale value", "Gain"},
			[]float64{22, 18, 18, 20, 16, 12, 14, 22, 20, 22, 22, 16, 22, 22}, lines, map[int]bool{0: true, 5: true, 6: true})
	}
	if len(st.Schemes) == 0 {
		heading("Transfers")
		pdf.SetFont("Helvetica", "", 9)
		pdf.CellFormat(0, 5, "No redemption or switch-out in the year.", "", 1, "L", false, 0, "")
	}

	// Schedule 112A: the export's own rows, so the PDF and the CSV agree
	var b bytes.Buffer
	if err := tax.WriteSchedule112A(&b, st, false); err != nil {
		return err
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		return fmt.Errorf("schedule 112A rows: %w", err)
	}
	heading("Schedule 112A (equity LTCG): columns 1a, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14")
	var s112 [][]string
	for _, r := range recs {
		if len(r) < 14 {
			continue
		}
		s112 = append(s112, []string{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[9], r[10], r[11], r[12], r[13]})
	}
	if len(s112) == 0 {
		pdf.SetFont("Helvetica", "", 9)
		pdf.CellFormat(0, 5, "No long-term gain under section 112A in the year.", "", 1, "L", false, 0, "")
	} else {
		rows([]string{"1a", "ISIN", "Name", "Units", "Sale/unit", "Full value", "Cost", "Cost acq.", "FMV/unit", "FMV total", "Expenses", "Deductions", "Balance"},
			[]float64{26, 24, 44, 18, 16, 22, 20, 20, 16, 20, 18, 20, 20}, s112, map[int]bool{0: true, 1: true, 2: true})
	}

	heading("IDCW received and TDS (Form 16A data)")
	var idcw [][]string
	for _, l := range tds.Lines {
		idcw = append(idcw, []string{l.AMC, l.Section, fmt.Sprint(l.Credits), inrGroup(l.Gross), inrGroup(l.Tax), inrGroup(l.Gross.Sub(l.Tax))})
	}
	if len(idcw) == 0 {
		pdf.SetFont("Helvetica", "", 9)
		pdf.CellFormat(0, 5, "No IDCW credited in the year.", "", 1, "L", false, 0, "")
	} else {
		idcw = append(idcw, []string{"Total", "", "", inrGroup(tds.Gross), inrGroup(tds.Tax), inrGroup(tds.Gross.Sub(tds.Tax))})
		rows([]string{"AMC", "Section", "Credits", "Gross (₹)", "TDS (₹)", "Net (₹)"}, []float64{70, 20, 18, 30, 30, 30}, idcw, map[int]bool{0: true, 1: true})
	}

	heading("Notes")
	pdf.SetFont("Helvetica", "", 8)
	pdf.MultiCell(0, 4.2, tr("Gains are computed lot by lot, first in first out, from the platform's ledger under the rules in force on each transfer date "+
		"(holding periods, sections 111A, 112A, 50AA and 112, the 112A exemption of the year; grandfathered cost = max(actual cost, min(FMV of 31-Jan-2018, sale value))). "+
		"Stamp duty is part of the cost; the exit load is deducted as an expense on transfer. Units carried over by a scheme merger keep their original acquisition date and cost. "+
		"This statement is for information and is not tax advice: check it against your Form 26AS/AIS and consult a tax adviser before filing."), "", "L", false)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("tax statement pdf: %w", err)
	}
	return pdf.Output(w)
}

// gainChart draws the year's gain per section as horizontal bars (green
// gains, red losses) in the box x, y, w, h (mm); lengths are floats for
// drawing only, the labels print the exact amounts.
func gainChart(pdf *fpdf.Fpdf, secs []ftax.SectionTotal, x, y, w, h float64) {
	pdf.SetFont("Helvetica", "B", 10)
	pdf.SetXY(x, y)
	pdf.CellFormat(w, 6, "Gain by section (₹)", "", 0, "L", false, 0, "")
	top := y + 8
	pdf.SetDrawColor(160, 160, 160)
	pdf.SetLineWidth(0.2)
	pdf.Rect(x, top, w, h-8, "D")
	if len(secs) == 0 {
		pdf.SetFont("Helvetica", "", 9)
		pdf.SetXY(x, top+(h-8)/2)
		pdf.CellFormat(w, 5, "No gains in the year.", "", 0, "C", false, 0, "")
		return
	}
	maxAbs := 0.0
	for _, s := range secs {
		f, _ := s.Gain.Decimal().Float64()
		maxAbs = math.Max(maxAbs, math.Abs(f))
	}
	if maxAbs == 0 {
		maxAbs = 1
	}
	labelW, valueW := 28.0, 30.0
	barW := w - labelW - valueW - 4
	mid := x + labelW + barW/2
	rowH := math.Min(9, (h-12)/float64(len(secs)))
	pdf.SetDrawColor(200, 200, 200)
	pdf.Line(mid, top+2, mid, top+2+rowH*float64(len(secs)))
	for i, s := range secs {
		yy := top + 2 + rowH*float64(i)
		f, _ := s.Gain.Decimal().Float64()
		l := (barW / 2) * math.Abs(f) / maxAbs
		if f >= 0 {
			pdf.SetFillColor(40, 150, 80)
			pdf.Rect(mid, yy+1, l, rowH-2, "F")
		} else {
			pdf.SetFillColor(200, 50, 50)
			pdf.Rect(mid-l, yy+1, l, rowH-2, "F")
		}
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetXY(x+1, yy)
		pdf.CellFormat(labelW-2, rowH, s.Section+" "+string(s.Term), "", 0, "L", false, 0, "")
		pdf.SetXY(x+w-valueW-1, yy)
		pdf.CellFormat(valueW, rowH, inrGroup(s.Gain), "", 0, "R", false, 0, "")
	}
}
