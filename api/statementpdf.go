package api

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/signintech/gopdf"

	"github.com/fundflow/fundflow/assets/fonts"
	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/readmodel"
	"github.com/fundflow/fundflow/tax"
	"github.com/fundflow/fundflow/wallet"
)

// StatementExtras are what a folio statement shows beyond the folio's own
// ledger: the investor's PAN as the caller may see it, the capital gains
// of the folio in the financial year the statement ends in (nil: the tax
// service is not served here), and the time it is generated.
type StatementExtras struct {
	PAN   *string
	Gains *tax.Statement // the investor's year; the statement keeps this folio's lots
	Now   time.Time
	// Wallets are the managed-investing wallets auto-investing into the
	// folio, with their pools (none: no section).
	Wallets []StatementWallet
}

// statementDisclaimer closes every statement.
const statementDisclaimer = "This statement is generated from fundflow's ledger and is not a contract note. " +
	"Values use the NAV dated as shown for each scheme; a NAV marked STALE is more than " +
	"5 days older than the valuation date, so its value may differ from today's. " +
	"Capital gains follow the Income-tax Act's rules in force on each transfer date " +
	"(grandfathering to 31-Jan-2018 for equity units bought before 1-Feb-2018) and are for information: " +
	"check them against your own records before filing a return. Mutual fund investments are subject " +
	"to market risks; read all scheme related documents carefully. Times are Indian Standard Time."

// stmtRowH is a line of text's box height, mm.
const stmtRowH = 4.6

// pageGeom is a page's size and the box text is drawn in, mm.
type pageGeom struct{ pageW, pageH, left, right, top, bottom float64 }

var (
	portraitA4  = pageGeom{pageW: 210, pageH: 297, left: 15, right: 195, top: 15, bottom: 280}
	landscapeA4 = pageGeom{pageW: 297, pageH: 210, left: 15, right: 282, top: 15, bottom: 192}
)

// stmtDoc is a document being drawn with gopdf and the embedded DejaVu
// fonts (the folio statement, the capital-gains statement, the commission
// payout): the cursor y, the table header to draw again on a new page, and
// the first error (gopdf's calls each return one).
type stmtDoc struct {
	pageGeom
	pdf    gopdf.GoPdf
	y      float64
	err    error
	header func() // redraws the open table's header on a new page (nil: none)
}

// newDoc starts a document of geometry g with the embedded fonts
// ("regular" and "bold") and its first page.
func newDoc(g pageGeom, info gopdf.PdfInfo) (*stmtDoc, error) {
	d := &stmtDoc{pageGeom: g}
	d.pdf.Start(gopdf.Config{PageSize: gopdf.Rect{W: g.pageW, H: g.pageH}, Unit: gopdf.UnitMM})
	info.Creator, info.Producer = "fundflow", "fundflow (gopdf)"
	d.pdf.SetInfo(info)
	if err := d.pdf.AddTTFFontData("regular", fonts.Regular); err != nil {
		return nil, fmt.Errorf("font: %w", err)
	}
	if err := d.pdf.AddTTFFontData("bold", fonts.Bold); err != nil {
		return nil, fmt.Errorf("font: %w", err)
	}
	d.pdf.AddPage()
	// text in black from the start: until a text colour is set, gopdf
	// writes text in the last fill colour (a table header's pale blue)
	d.pdf.SetTextColor(0, 0, 0)
	d.y = d.top
	return d, nil
}

// finish writes footer(page, pages) at the foot of every page, now that
// the count is known (nil: no footer), and the document to w.
func (d *stmtDoc) finish(w *bytes.Buffer, footer func(page, pages int) string) error {
	n := d.pdf.GetNumberOfPages()
	for p := 1; p <= n && footer != nil; p++ {
		d.check(d.pdf.SetPage(p))
		d.font(false, 7.5)
		d.pdf.SetTextColor(120, 120, 120)
		d.text(d.left, d.pageH-11, d.right-d.left, footer(p, n), "C")
		d.pdf.SetTextColor(0, 0, 0)
	}
	if d.err != nil {
		return d.err
	}
	_, err := d.pdf.WriteTo(w)
	return err
}

func (d *stmtDoc) check(err error) {
	if err != nil && d.err == nil {
		d.err = err
	}
}

func (d *stmtDoc) font(bold bool, size float64) {
	fam := "regular"
	if bold {
		fam = "bold"
	}
	d.check(d.pdf.SetFont(fam, "", size))
}

// text writes s in the box x..x+w at y, aligned left, right or centre.
func (d *stmtDoc) text(x, y, w float64, s, align string) {
	d.pdf.SetXY(x, y)
	a := gopdf.Left
	switch align {
	case "R":
		a = gopdf.Right
	case "C":
		a = gopdf.Center
	}
	d.check(d.pdf.CellWithOption(&gopdf.Rect{W: w, H: stmtRowH}, s, gopdf.CellOption{Align: a | gopdf.Top}))
}

// wrap splits s into lines of at most w mm in the current font; a name is
// never cut, only wrapped.
func (d *stmtDoc) wrap(s string, w float64) []string {
	if s == "" {
		return []string{""}
	}
	lines, err := d.pdf.SplitTextWithWordWrap(s, w)
	d.check(err)
	if len(lines) == 0 {
		return []string{s}
	}
	return lines
}

// need starts a new page when h mm do not fit, redrawing the open table's
// header there.
func (d *stmtDoc) need(h float64) {
	if d.y+h <= d.bottom {
		return
	}
	d.pdf.AddPage()
	d.y = d.top
	if d.header != nil {
		d.header()
	}
}

// para writes a wrapped paragraph across the page.
func (d *stmtDoc) para(s string, bold bool, size, lineH float64) {
	d.font(bold, size)
	for _, l := range d.wrap(s, d.right-d.left) {
		d.need(lineH)
		d.text(d.left, d.y, d.right-d.left, l, "L")
		d.y += lineH
	}
}

func (d *stmtDoc) heading(s string) {
	d.header = nil
	d.need(20) // a heading never ends a page alone
	d.y += 3
	d.font(true, 11)
	d.text(d.left, d.y, d.right-d.left, s, "L")
	d.y += 6.5
}

// column is a table column: its heading, width (mm) and alignment.
type column struct {
	head  string
	w     float64
	align string
}

// table starts a table: its header now and on every page it runs onto.
func (d *stmtDoc) table(cols []column) {
	d.header = func() {
		d.font(true, 7)
		heads := make([]string, len(cols))
		for i, c := range cols {
			heads[i] = c.head
		}
		lines, n := d.wrapCells(cols, heads)
		rowH := float64(n)*3.4 + 1.6
		d.pdf.SetFillColor(230, 236, 245)
		d.pdf.RectFromUpperLeftWithStyle(d.left, d.y, colsWidth(cols), rowH, "F")
		d.drawCells(cols, lines, d.y+0.8, 3.4)
		d.y += rowH
		d.font(false, 7.5)
	}
	d.need(2 * stmtRowH * 3)
	d.header()
}

// wrapCells wraps each cell to its column (less a 0.75 mm margin each
// side) in the current font, and says how many lines the tallest has.
func (d *stmtDoc) wrapCells(cols []column, cells []string) ([][]string, int) {
	lines := make([][]string, len(cols))
	n := 1
	for i, c := range cols {
		lines[i] = d.wrap(cells[i], c.w-1.5)
		n = max(n, len(lines[i]))
	}
	return lines, n
}

// drawCells writes wrapped cells from top, lineH apart, each in its column.
func (d *stmtDoc) drawCells(cols []column, lines [][]string, top, lineH float64) {
	x := d.left
	for i, c := range cols {
		for j, l := range lines[i] {
			d.text(x+0.75, top+float64(j)*lineH, c.w-1.5, l, c.align)
		}
		x += c.w
	}
}

// row draws one table row; a cell wraps (never cut) and the row is as
// tall as its tallest cell. bold draws it in bold.
func (d *stmtDoc) row(cols []column, cells []string, bold bool) {
	d.font(bold, 7.5)
	lines, n := d.wrapCells(cols, cells)
	h := float64(n)*3.6 + 1
	d.need(h)
	d.font(bold, 7.5) // a new page's header set its own
	d.drawCells(cols, lines, d.y+0.5, 3.6)
	d.y += h
	d.pdf.SetStrokeColor(210, 210, 210)
	d.pdf.SetLineWidth(0.15)
	d.pdf.Line(d.left, d.y, d.left+colsWidth(cols), d.y)
}

// colsWidth is a table's width, mm: a narrow table's fill and rules stop
// at its last column, clear of what is drawn beside it.
func colsWidth(cols []column) float64 {
	w := 0.0
	for _, c := range cols {
		w += c.w
	}
	return w
}

// rupees is an amount to the paisa (half up, as every ledger amount is
// already) with Indian digit grouping: 1234567.8 → 12,34,567.80.
func rupees(v decimal.Decimal) string {
	a, err := fund.AmountFromDecimal(v, fund.RoundHalfUp)
	if err != nil {
		return v.StringFixed(2)
	}
	return inrGroup(a)
}

// unitsAt prints units at the scheme's scale: 1073.1 of a 3-decimal
// scheme is 1073.100.
func unitsAt(v decimal.Decimal, scale int32) string {
	return v.StringFixed(scale)
}

// navText prints a NAV with at least the 4 decimals NAVs are published
// with (15 → 15.0000), more when it has them.
func navText(v decimal.Decimal) string {
	if v.Equal(v.Round(4)) {
		return v.StringFixed(4)
	}
	return v.String()
}

// schemeTitle is a scheme's full description: its AMFI name with the plan
// and option (unless the name says them already) and its ISINs.
func schemeTitle(code string, si readmodel.SchemeInfo, fallback string) string {
	name := si.Name
	if name == "" {
		name = fallback
	}
	parts := []string{name}
	low := strings.ToLower(name)
	for _, p := range []string{si.Plan, si.Option} {
		if p != "" && !strings.Contains(low, strings.ToLower(p)) {
			parts = append(parts, p)
		}
	}
	s := strings.Join(parts, " - ")
	switch {
	case si.ISINGrowth != "" && si.ISINReinvest != "" && si.ISINReinvest != si.ISINGrowth:
		s += fmt.Sprintf(" (ISIN %s; IDCW reinvestment %s)", si.ISINGrowth, si.ISINReinvest)
	case si.ISINGrowth != "":
		s += " (ISIN " + si.ISINGrowth + ")"
	case si.ISINReinvest != "":
		s += " (ISIN " + si.ISINReinvest + ")"
	}
	return s + " [" + code + "]"
}

// kindLabel is how a statement names a ledger transaction kind.
func kindLabel(k string) string {
	switch k {
	case "idcw_reinvest":
		return "IDCW reinvested"
	case fund.KindIDCWPayout:
		return "IDCW paid"
	case fund.KindMergerOut:
		return "Merged out"
	case fund.KindMergerIn:
		return "Merged in"
	}
	k = strings.ReplaceAll(k, "_", " ")
	return strings.ToUpper(k[:1]) + k[1:]
}

// RenderStatement draws a folio statement an investor can file: who and
// what (name, address, PAN as the caller may see it, every scheme's full
// name with plan, option and ISIN), the summary and the value chart (a
// stretch valued at a stale NAV drawn dashed and named), the closing
// holdings with each NAV's date (a stale one flagged), the period's
// transactions scheme by scheme with stamp duty, exit load and net apart
// and a running unit balance at the scheme's scale, the IDCW received, the
// folio's capital gains of the financial year, and a disclaimer. Amounts
// are rupees with Indian digit grouping, in DejaVu Sans (embedded, with
// the ₹ sign); column headers are drawn again on every page.
func RenderStatement(w *bytes.Buffer, st *readmodel.Statement, x StatementExtras) error {
	d, err := newDoc(portraitA4, gopdf.PdfInfo{Title: "Statement of folio " + st.Folio})
	if err != nil {
		return fmt.Errorf("statement pdf: %w", err)
	}

	d.font(true, 16)
	d.text(d.left, d.y, 180, "Account statement", "L")
	d.y += 9
	pan := "not on record"
	if x.PAN != nil {
		pan = *x.PAN
	}
	inv := st.Investor
	name := inv.Name
	if name == "" {
		name = "-"
	}
	address := strings.Join(strings.Fields(strings.ReplaceAll(inv.Address, "\n", ", ")), " ")
	if address == "" {
		address = "not on record"
	}
	d.para(fmt.Sprintf("%s (investor %s)    PAN %s", name, inv.ID, pan), true, 10, 5)
	d.para("Address: "+address, false, 9, 4.5)
	d.para(fmt.Sprintf("Folio %s    Period %s to %s    Generated %s", st.Folio, st.From, st.To,
		x.Now.In(istZone).Format("02-Jan-2006 15:04 IST")), false, 9, 4.5)

	c := st.Closing
	scale := func(code string) int32 {
		if s, ok := st.UnitsScale[code]; ok {
			return s
		}
		return fund.DefaultUnitsScale
	}
	title := func(code string) string { return schemeTitle(code, st.Schemes[code], st.Names[code]) }

	// Valuation: the newest and oldest NAV dates used, and the stale ones.
	var stale []string
	var oldest *fund.Date
	for _, h := range c.Holdings {
		if h.NAVDate == nil {
			stale = append(stale, h.Scheme+" (no NAV)")
			continue
		}
		if oldest == nil || h.NAVDate.Before(*oldest) {
			oldest = h.NAVDate
		}
		if readmodel.NAVStale(*h.NAVDate, st.To) {
			stale = append(stale, fmt.Sprintf("%s (NAV of %s)", h.Scheme, h.NAVDate))
		}
	}
	val := fmt.Sprintf("Valued on %s at each scheme's latest NAV on or before it", st.To)
	if oldest != nil {
		val += fmt.Sprintf(" (oldest NAV date used: %s)", oldest)
	}
	d.para(val+".", false, 9, 4.5)
	if len(stale) > 0 {
		d.pdf.SetTextColor(190, 60, 0)
		d.para(fmt.Sprintf("STALE NAV: %s: more than %d days older than %s; the value shown is at that NAV.",
			strings.Join(stale, ", "), readmodel.StaleNAVDays, st.To), true, 9, 4.5)
		d.pdf.SetTextColor(0, 0, 0)
	}

	d.heading("Summary (₹)")
	xirr := c.XIRRNote
	if c.XIRR != nil {
		xirr = c.XIRR.Mul(decimal.NewFromInt(100)).StringFixed(2) + " % a year"
	}
	d.font(false, 9.5)
	for _, r := range [][2]string{
		{"Opening value (" + st.From.AddDays(-1).String() + ")", "₹ " + rupees(st.Opening.Value)},
		{"Closing value (" + st.To.String() + ")", "₹ " + rupees(c.Value)},
		{"Invested (cost of units held)", "₹ " + rupees(c.Invested)},
		{"Gain", "₹ " + rupees(c.Gain)},
		{"XIRR", xirr},
	} {
		d.text(d.left, d.y, 70, r[0], "L")
		d.text(d.left+70, d.y, 45, r[1], "R")
		d.y += 5
	}
	d.y += 3
	d.need(80)
	d.chart(st.Series, d.left, d.y, 180, 64)
	d.y += 76

	d.heading("Closing holdings on " + st.To.String())
	hold := []column{{"Scheme", 62, "L"}, {"Units", 20, "R"}, {"NAV (₹)", 16, "R"}, {"NAV date", 26, "R"},
		{"Value (₹)", 19, "R"}, {"Invested (₹)", 19, "R"}, {"Gain (₹)", 18, "R"}}
	d.table(hold)
	for _, h := range c.Holdings {
		nav, date, value, gain := "-", "no NAV", "-", "-"
		if h.NAV != nil {
			nav, date, value, gain = navText(*h.NAV), h.NAVDate.String(), rupees(*h.Value), rupees(*h.Gain)
			if readmodel.NAVStale(*h.NAVDate, st.To) {
				date += " STALE"
			}
		}
		d.row(hold, []string{title(h.Scheme), h.Units, nav, date, value, rupees(h.Invested), gain}, false)
	}
	if len(c.Holdings) == 0 {
		d.para("No units held.", false, 9, 5)
	}

	d.heading(fmt.Sprintf("Transactions %s to %s", st.From, st.To))
	txCols := []column{{"NAV date", 17, "L"}, {"Type", 25, "L"}, {"Amount (₹)", 21, "R"}, {"Stamp duty (₹)", 15, "R"},
		{"Exit load (₹)", 15, "R"}, {"Net (₹)", 21, "R"}, {"NAV (₹)", 18, "R"}, {"Units", 24, "R"}, {"Unit balance", 24, "R"}}
	var order []string
	byScheme := map[string][]readmodel.LedgerTx{}
	for _, t := range st.Txs {
		if _, ok := byScheme[t.Scheme]; !ok {
			order = append(order, t.Scheme)
		}
		byScheme[t.Scheme] = append(byScheme[t.Scheme], t)
	}
	for _, code := range order {
		sc := scale(code)
		d.header = nil
		d.need(4 * stmtRowH * 2)
		d.y += 1.5
		d.font(true, 8.5)
		for _, l := range d.wrap(title(code), d.right-d.left) {
			d.text(d.left, d.y, d.right-d.left, l, "L")
			d.y += 4.2
		}
		head := title(code)
		d.table(txCols)
		inner := d.header
		d.header = func() { // on a new page: which scheme continues, then the columns
			d.font(true, 8.5)
			d.text(d.left, d.y, d.right-d.left, d.wrap(head, d.right-d.left-20)[0]+" (continued)", "L")
			d.y += 4.2
			inner()
		}
		bal := st.OpeningUnits[code]
		d.row(txCols, []string{st.From.String(), "Opening balance", "", "", "", "", "", "", unitsAt(bal, sc)}, false)
		for _, t := range byScheme[code] {
			delta := t.UnitsDelta()
			bal = bal.Add(delta)
			units := ""
			if delta.Sign() != 0 {
				units = unitsAt(delta, sc)
			}
			nav := ""
			if t.NAV.Sign() != 0 {
				nav = navText(t.NAV)
			}
			d.row(txCols, []string{t.NAVDate.String(), kindLabel(t.Kind), rupees(t.Amount), rupees(t.StampDuty),
				rupees(t.ExitLoad), rupees(t.Net), nav, units, unitsAt(bal, sc)}, false)
		}
		d.row(txCols, []string{st.To.String(), "Closing balance", "", "", "", "", "", "", unitsAt(bal, sc)}, true)
		d.header = nil
	}
	if len(st.Txs) == 0 {
		d.para("No transactions in the period.", false, 9, 5)
	}

	d.heading(fmt.Sprintf("IDCW received %s to %s", st.From, st.To))
	if len(st.IDCW) == 0 {
		d.para("No IDCW in the period.", false, 9, 5)
	} else {
		idcw := []column{{"Scheme", 40, "L"}, {"Record date", 18, "L"}, {"Paid on", 18, "L"}, {"₹ per unit", 14, "R"},
			{"Units held", 20, "R"}, {"Gross (₹)", 18, "R"}, {"TDS (₹)", 18, "R"}, {"Net (₹)", 18, "R"}, {"Option", 16, "L"}}
		d.table(idcw)
		var gross, tds, net decimal.Decimal
		for _, c := range st.IDCW {
			t := rupees(c.TDS)
			if c.TDS.Sign() > 0 {
				t += " (" + c.Section + ")"
			}
			d.row(idcw, []string{title(c.Scheme), c.RecordDate.String(), c.Date.String(), navText(c.PerUnit),
				unitsAt(c.Units, scale(c.Scheme)), rupees(c.Gross), t, rupees(c.Net), c.Option}, false)
			gross, tds, net = gross.Add(c.Gross), tds.Add(c.TDS), net.Add(c.Net)
		}
		d.row(idcw, []string{"Total", "", "", "", "", rupees(gross), rupees(tds), rupees(net), ""}, true)
		d.header = nil
	}

	for _, w := range x.Wallets {
		d.wallet(w, st.From, st.To)
	}

	fy := ftax.FYOf(st.To)
	d.heading(fmt.Sprintf("Capital gains of this folio, FY %s (1-Apr-%d to %s)", fy, fy.Start, minDate(st.To, fy.Last())))
	d.gains(st.Folio, x.Gains)

	d.heading("Disclaimer")
	d.para(statementDisclaimer, false, 8, 3.8)

	if err := d.finish(w, func(p, n int) string {
		return fmt.Sprintf("fundflow statement, folio %s, %s to %s, page %d of %d", st.Folio, st.From, st.To, p, n)
	}); err != nil {
		return fmt.Errorf("statement pdf: %w", err)
	}
	return nil
}

func minDate(a, b fund.Date) fund.Date {
	if a.Before(b) {
		return a
	}
	return b
}

// gains draws the folio's part of the investor's capital-gains statement:
// totals by section, then each transfer's lots.
func (d *stmtDoc) gains(folio string, g *tax.Statement) {
	if g == nil {
		d.para("Capital gains are not served by this server: ask for the capital-gains statement.", false, 9, 5)
		return
	}
	var lots []ftax.LotGain
	type line struct {
		scheme string
		l      tax.LotLine
	}
	var lines []line
	for _, s := range g.Schemes {
		for _, l := range s.Lots {
			if l.Folio == folio {
				lots = append(lots, l.LotGain)
				lines = append(lines, line{s.Scheme, l})
			}
		}
	}
	if len(lots) == 0 {
		d.para("No units of this folio were redeemed or switched out in the year.", false, 9, 5)
		return
	}
	tot := ftax.Sum(lots)
	sec := []column{{"Section", 25, "L"}, {"Term", 25, "L"}, {"Rate", 25, "R"}, {"Gain (₹)", 35, "R"}}
	d.table(sec)
	for _, s := range tot.BySection {
		rate := "slab"
		if s.RatePct != "" {
			rate = s.RatePct + " %"
		}
		d.row(sec, []string{s.Section, string(s.Term), rate, inrGroup(s.Gain)}, false)
	}
	d.row(sec, []string{"Total", "", "", inrGroup(tot.Gain)}, true)
	d.header = nil
	d.y += 2
	d.para(fmt.Sprintf("Sale value ₹ %s less cost ₹ %s = gain ₹ %s. The ₹ %s yearly 112A exemption applies to the investor's "+
		"equity LTCG across all folios (the capital-gains statement).", inrGroup(tot.SaleValue), inrGroup(tot.CostUsed),
		inrGroup(tot.Gain), inrGroup(g.LTCGExemption)), false, 8.5, 4.2)
	lc := []column{{"Scheme", 34, "L"}, {"Bought", 16, "L"}, {"Sold", 16, "L"}, {"Units", 18, "R"}, {"Term", 11, "L"},
		{"Section", 12, "L"}, {"Cost used (₹)", 19, "R"}, {"Exit load (₹)", 16, "R"}, {"Sale value (₹)", 19, "R"}, {"Gain (₹)", 19, "R"}}
	d.y += 1
	d.table(lc)
	for _, l := range lines {
		cost := inrGroup(l.l.CostUsed)
		if l.l.Grandfathered != "" && l.l.Grandfathered != "actual" {
			cost += " (" + l.l.Grandfathered + ")"
		}
		d.row(lc, []string{l.scheme, l.l.Bought.String(), l.l.Sold.String(), l.l.Units.String(), string(l.l.Term),
			l.l.RateSection, cost, inrGroup(l.l.ExitLoad), inrGroup(l.l.SaleValue), inrGroup(l.l.Gain)}, false)
	}
	d.header = nil
	for _, p := range g.Problems {
		d.para("Left out: "+p, false, 8, 4)
	}
}

// chart plots value (blue) and invested amount (grey) in the box x, y, w, h
// (mm). A segment that ends on a point valued at a stale NAV is drawn
// dashed in orange and the legend says so: a flat line over NAVs that
// stopped coming is flagged, not silent. Positions are floats; the axis
// numbers are rounded for reading only.
func (d *stmtDoc) chart(pts []readmodel.SeriesPoint, x, y, w, h float64) {
	d.series(chartText{"Value and invested amount (₹)", "Value", "Invested", "No holdings in the period."}, pts, x, y, w, h)
}

// chartText is what a series chart writes: the title, the legend of the
// blue (Value) and grey (Invested) lines, and the text of an empty chart.
type chartText struct{ title, value, invested, empty string }

// series is chart's plot with its own words (the commission payout plots
// this month's accrual against last month's with it).
func (d *stmtDoc) series(txt chartText, pts []readmodel.SeriesPoint, x, y, w, h float64) {
	d.font(true, 11)
	d.text(x, y, w, txt.title, "L")
	top, left, right, bottom := y+8, x+18, x+w, y+h
	d.pdf.SetStrokeColor(160, 160, 160)
	d.pdf.SetLineWidth(0.2)
	d.pdf.RectFromUpperLeftWithStyle(left, top, right-left, bottom-top, "D")
	if len(pts) == 0 {
		d.font(false, 9)
		d.text(left, top+(bottom-top)/2, right-left, txt.empty, "C")
		return
	}
	anyStale := false
	for _, p := range pts {
		anyStale = anyStale || p.Stale
	}
	px, py, step, maxY := chartScale(pts, left, top, right, bottom)
	d.font(false, 6.5)
	d.pdf.SetTextColor(90, 90, 90)
	for v := 0.0; v <= maxY+step/2; v += step {
		yy := bottom - (bottom-top)*v/maxY
		d.pdf.SetStrokeColor(225, 225, 225)
		d.pdf.SetLineWidth(0.15)
		d.pdf.Line(left, yy, right, yy)
		a, _ := fund.AmountFromDecimal(decimal.NewFromFloat(v).Round(0), fund.RoundHalfUp)
		g := inrGroup(a)
		d.text(x, yy-1.8, 17, strings.TrimSuffix(g, ".00"), "R")
	}
	for _, dt := range []fund.Date{pts[0].Date, pts[len(pts)/2].Date, pts[len(pts)-1].Date} {
		d.text(px(dt)-12, bottom+1, 24, dt.String(), "C")
	}
	d.pdf.SetTextColor(0, 0, 0)
	line := func(get func(readmodel.SeriesPoint) decimal.Decimal, r, g, b uint8, width float64, flag bool) {
		for i := 1; i < len(pts); i++ {
			if flag && pts[i].Stale {
				d.pdf.SetStrokeColor(230, 120, 0)
				d.pdf.SetLineType("dashed")
			} else {
				d.pdf.SetStrokeColor(r, g, b)
				d.pdf.SetLineType("solid")
			}
			d.pdf.SetLineWidth(width)
			d.pdf.Line(px(pts[i-1].Date), py(get(pts[i-1])), px(pts[i].Date), py(get(pts[i])))
		}
		d.pdf.SetLineType("solid")
		if len(pts) == 1 {
			d.pdf.SetStrokeColor(r, g, b)
			d.pdf.Line(px(pts[0].Date)-1, py(get(pts[0])), px(pts[0].Date)+1, py(get(pts[0])))
		}
	}
	line(func(p readmodel.SeriesPoint) decimal.Decimal { return p.Invested }, 140, 140, 140, 0.6, false)
	line(func(p readmodel.SeriesPoint) decimal.Decimal { return p.Value }, 20, 90, 200, 0.8, true) // only the value rests on NAVs
	legend := []struct {
		r, g, b uint8
		dashed  bool
		label   string
	}{{20, 90, 200, false, txt.value}, {140, 140, 140, false, txt.invested}}
	if anyStale {
		legend = append(legend, struct {
			r, g, b uint8
			dashed  bool
			label   string
		}{230, 120, 0, true, fmt.Sprintf("Valued at a stale NAV (over %d days old)", readmodel.StaleNAVDays)})
	}
	d.font(false, 7.5)
	lx := left // the legend runs under the axis, clear of the lines
	for _, l := range legend {
		yy := bottom + 8
		d.pdf.SetLineWidth(0.8)
		d.pdf.SetStrokeColor(l.r, l.g, l.b)
		if l.dashed {
			d.pdf.SetLineType("dashed")
		}
		d.pdf.Line(lx, yy, lx+8, yy)
		d.pdf.SetLineType("solid")
		tw, err := d.pdf.MeasureTextWidth(l.label)
		d.check(err)
		d.text(lx+9, yy-1.9, tw+1, l.label, "L")
		lx += 9 + tw + 8
	}
	d.pdf.SetLineWidth(0.2)
}

// walletKinds label a wallet's movements, in the order the statement
// lists them.
var walletKinds = []struct{ kind, label string }{
	{"deposit", "Deposits"}, {"invest", "Invested (auto-invest purchases)"}, {"refund", "Refused purchases returned"},
	{"switch_payout", "Rebalance payouts returned"}, {"fee_redemption", "Units redeemed for fees"}, {"fee", "Fees charged (with GST)"},
	{"pool_contribution", "Pool contributions"}, {"pool_withdrawal", "Pool withdrawals"}, {"pool_priced", "Pool withdrawals paid"},
	{"pool_distribution", "Pool distributions paid"}, {"withdrawal", "Withdrawals"}, {"withdrawal_release", "Withdrawals released"},
	{"withdrawal_cancel", "Withdrawals cancelled"}, {"reversal", "Deposits refunded by the gateway"},
}

// wallet draws a wallet's section: opening and closing balance, the
// period's movements by kind (money in and out of the wallet), its
// rebalances, and its pool holdings at the period's end.
func (d *stmtDoc) wallet(w StatementWallet, from, to fund.Date) {
	l := w.Lines
	title := fmt.Sprintf("Managed wallet %s, %s to %s", l.WalletID, from, to)
	if l.Model != "" {
		title += " (model " + l.Model + ")"
	}
	d.heading(title)
	cols := []column{{"", 82, "L"}, {"Entries", 16, "R"}, {"In (₹)", 27, "R"}, {"Out (₹)", 27, "R"}, {"Balance (₹)", 28, "R"}}
	d.table(cols)
	d.row(cols, []string{"Opening balance " + from.String(), "", "", "", rupees(l.Opening.Decimal())}, false)
	byKind := map[string]wallet.Flow{}
	for _, f := range l.Flows {
		byKind[f.Kind] = f
	}
	for _, k := range walletKinds {
		f, ok := byKind[k.kind]
		if !ok {
			continue
		}
		in, out := "", ""
		if f.In.Sign() != 0 {
			in = rupees(f.In.Decimal())
		}
		if f.Out.Sign() != 0 {
			out = rupees(f.Out.Decimal())
		}
		d.row(cols, []string{k.label, fmt.Sprint(f.Count), in, out, ""}, false)
	}
	d.row(cols, []string{"Closing balance " + to.String(), "", "", "", rupees(l.Closing.Decimal())}, true)
	d.header = nil
	if len(l.Rebalances) > 0 {
		// Switches move money between the folio's schemes, not through
		// the wallet: listed apart from its movements.
		d.y += 2
		rc := []column{{"Rebalance", 60, "L"}, {"Proposed", 24, "L"}, {"Executed", 24, "L"}, {"Switches", 18, "R"}, {"Switched (₹)", 30, "R"}, {"Status", 24, "L"}}
		d.table(rc)
		for _, r := range l.Rebalances {
			executed, status := "", "proposed"
			if r.Executed != nil {
				executed, status = r.Executed.String(), "executed"
			}
			d.row(rc, []string{r.ID, r.Proposed.String(), executed, fmt.Sprint(r.Switches), rupees(r.Amount.Decimal()), status}, false)
		}
		d.header = nil
	}
	if len(w.Pools) == 0 {
		return
	}
	d.y += 2
	pc := []column{{"Pool at " + to.String(), 60, "L"}, {"Units", 25, "R"}, {"Pending withdrawal", 25, "R"}, {"Pool NAV", 20, "R"}, {"NAV date", 20, "L"}, {"Value (₹)", 30, "R"}}
	d.table(pc)
	for _, p := range w.Pools {
		nav, value := "", ""
		if p.NAV != nil {
			nav = navText(p.NAV.Decimal())
		}
		if p.Value != nil {
			value = rupees(p.Value.Decimal())
		}
		d.row(pc, []string{p.Name + " (" + p.Pool + ")", p.Units.String(), p.Pending.String(), nav, p.NAVDate, value}, false)
	}
	d.header = nil
}
