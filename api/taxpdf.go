package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/signintech/gopdf"

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
// FY (A4 landscape) with the folio statement's gopdf helpers (stmtDoc): a
// summary by section with a chart of the gains, the lots scheme by scheme
// (column headers repeated on every page), the Schedule 112A rows
// (tax.WriteSchedule112A, the same rows the CSV export gives), the IDCW
// received with its TDS, and a disclaimer. Amounts are in rupees (₹) with
// Indian digit grouping, in the embedded DejaVu Sans.
func RenderTaxStatement(w *bytes.Buffer, st *tax.Statement, tds ftax.TDSSummary, investorName, address string, now time.Time) error {
	fy := st.FY.String()
	d, err := newDoc(landscapeA4, gopdf.PdfInfo{Title: "Capital gains and IDCW statement FY " + fy})
	if err != nil {
		return fmt.Errorf("tax statement pdf: %w", err)
	}
	// cols turns headings and widths into columns: left-aligned where left
	// says, right (numbers) elsewhere
	cols := func(head []string, widths []float64, left map[int]bool) []column {
		c := make([]column, len(head))
		for i := range head {
			c[i] = column{head[i], widths[i], "R"}
			if left[i] {
				c[i].align = "L"
			}
		}
		return c
	}
	rows := func(c []column, lines [][]string) {
		d.table(c)
		for _, l := range lines {
			d.row(c, l, l[0] == "Total" || l[0] == "All")
		}
		d.header = nil
	}

	d.font(true, 16)
	d.text(d.left, d.y, d.right-d.left, "Capital gains and IDCW statement, FY "+fy, "L")
	d.y += 9
	name := investorName
	if name == "" {
		name = "-"
	}
	if address == "" {
		address = "not on record"
	}
	d.para(fmt.Sprintf("Investor %s (%s)    Period %s to %s", name, st.InvestorID, st.From, st.To), false, 10, 5.5)
	d.para("Address "+address, false, 10, 5.5)
	d.para("Generated "+now.In(istZone).Format("02-Jan-2006 15:04 IST"), false, 10, 5.5)

	d.heading("Summary (₹)")
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
	y0 := d.y
	d.gainChart(st.Totals.BySection, d.left+125, y0, 140, 60)
	rows(cols([]string{"Section", "Term", "Rate", "Gain (₹)"}, []float64{40, 18, 18, 34}, map[int]bool{0: true, 1: true}), summary)
	d.y = math.Max(d.y, y0+62)
	for _, p := range st.Problems {
		d.pdf.SetTextColor(180, 0, 0)
		d.para("Left out: "+p, false, 8, 4.5)
		d.pdf.SetTextColor(0, 0, 0)
	}

	lotCols := cols([]string{"Folio", "Bought", "Sold", "Units", "NAV", "Term", "Section", "Cost", "FMV 2018", "Cost used", "Sale", "Exit load", "Sale value", "Gain"},
		[]float64{22, 18, 18, 20, 16, 12, 14, 22, 20, 22, 22, 16, 22, 22}, map[int]bool{0: true, 5: true, 6: true})
	for _, sg := range st.Schemes {
		title := fmt.Sprintf("%s %s, ISIN %s (%s)", sg.Scheme, sg.Name, sg.ISIN, sg.SchemeType)
		if sg.FMVDate != nil {
			title += ", FMV NAV of " + sg.FMVDate.String()
		}
		d.heading(title)
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
		rows(lotCols, lines)
	}
	if len(st.Schemes) == 0 {
		d.heading("Transfers")
		d.para("No redemption or switch-out in the year.", false, 9, 5)
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
	d.heading("Schedule 112A (equity LTCG): columns 1a, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14")
	var s112 [][]string
	for _, r := range recs {
		if len(r) < 14 {
			continue
		}
		s112 = append(s112, []string{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[9], r[10], r[11], r[12], r[13]})
	}
	if len(s112) == 0 {
		d.para("No long-term gain under section 112A in the year.", false, 9, 5)
	} else {
		rows(cols([]string{"1a", "ISIN", "Name", "Units", "Sale/unit", "Full value", "Cost", "Cost acq.", "FMV/unit", "FMV total", "Expenses", "Deductions", "Balance"},
			[]float64{26, 24, 44, 18, 16, 22, 20, 20, 16, 20, 18, 20, 20}, map[int]bool{0: true, 1: true, 2: true}), s112)
	}

	d.heading("IDCW received and TDS (Form 16A data)")
	var idcw [][]string
	for _, l := range tds.Lines {
		idcw = append(idcw, []string{l.AMC, l.Section, fmt.Sprint(l.Credits), inrGroup(l.Gross), inrGroup(l.Tax), inrGroup(l.Gross.Sub(l.Tax))})
	}
	if len(idcw) == 0 {
		d.para("No IDCW credited in the year.", false, 9, 5)
	} else {
		idcw = append(idcw, []string{"Total", "", "", inrGroup(tds.Gross), inrGroup(tds.Tax), inrGroup(tds.Gross.Sub(tds.Tax))})
		rows(cols([]string{"AMC", "Section", "Credits", "Gross (₹)", "TDS (₹)", "Net (₹)"}, []float64{70, 20, 18, 30, 30, 30}, map[int]bool{0: true, 1: true}), idcw)
	}

	d.heading("Notes")
	d.para("Gains are computed lot by lot, first in first out, from the platform's ledger under the rules in force on each transfer date "+
		"(holding periods, sections 111A, 112A, 50AA and 112, the 112A exemption of the year; grandfathered cost = max(actual cost, min(FMV of 31-Jan-2018, sale value))). "+
		"Stamp duty is part of the cost; the exit load is deducted as an expense on transfer. Units carried over by a scheme merger keep their original acquisition date and cost. "+
		"This statement is for information and is not tax advice: check it against your Form 26AS/AIS and consult a tax adviser before filing.", false, 8, 4.2)
	if err := d.finish(w, func(p, n int) string {
		return fmt.Sprintf("fundflow capital gains statement, investor %s, FY %s, page %d of %d", st.InvestorID, fy, p, n)
	}); err != nil {
		return fmt.Errorf("tax statement pdf: %w", err)
	}
	return nil
}

// gainChart draws the year's gain per section as horizontal bars (green
// gains, red losses) in the box x, y, w, h (mm); lengths are floats for
// drawing only, the labels print the exact amounts.
func (d *stmtDoc) gainChart(secs []ftax.SectionTotal, x, y, w, h float64) {
	d.font(true, 10)
	d.text(x, y, w, "Gain by section (₹)", "L")
	top := y + 8
	d.pdf.SetStrokeColor(160, 160, 160)
	d.pdf.SetLineWidth(0.2)
	d.pdf.RectFromUpperLeftWithStyle(x, top, w, h-8, "D")
	if len(secs) == 0 {
		d.font(false, 9)
		d.text(x, top+(h-8)/2-2, w, "No gains in the year.", "C")
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
	d.pdf.SetStrokeColor(200, 200, 200)
	d.pdf.Line(mid, top+2, mid, top+2+rowH*float64(len(secs)))
	d.font(false, 8)
	for i, s := range secs {
		yy := top + 2 + rowH*float64(i)
		f, _ := s.Gain.Decimal().Float64()
		l := (barW / 2) * math.Abs(f) / maxAbs
		if f >= 0 {
			d.pdf.SetFillColor(40, 150, 80)
			d.pdf.RectFromUpperLeftWithStyle(mid, yy+1, l, rowH-2, "F")
		} else {
			d.pdf.SetFillColor(200, 50, 50)
			d.pdf.RectFromUpperLeftWithStyle(mid-l, yy+1, l, rowH-2, "F")
		}
		d.text(x+1, yy+rowH/2-2, labelW-2, s.Section+" "+string(s.Term), "L")
		d.text(x+w-valueW-1, yy+rowH/2-2, valueW, inrGroup(s.Gain), "R")
	}
}
