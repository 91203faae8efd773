package commissions

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
)

// StatementCSVHeader is the first line of a payout's CSV: one line per payee.
const StatementCSVHeader = "month,payee,payout_date,trail,upfront,events,clawback,gross,cgst,sgst,igst,gst,tds_pct,tds,net,carried,brought_forward"

// WriteStatementsCSV writes the payout's statements, one line per payee.
func WriteStatementsCSV(w io.Writer, p Payout) error {
	cw := csv.NewWriter(w)
	if _, err := io.WriteString(w, StatementCSVHeader+"\n"); err != nil {
		return err
	}
	for _, s := range p.Statements {
		if err := cw.Write([]string{p.Month.String()[:7], s.Payee, s.PayoutDate.String(), s.Trail.String(), s.Upfront.String(),
			s.Events.String(), s.Clawback.String(), s.Gross.String(), s.CGST.String(), s.SGST.String(), s.IGST.String(),
			s.GST.String(), s.TDSPct.String(), s.TDS.String(), s.Net.String(), s.Carried.String(), s.BroughtForward.String()}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// PayoutDoc is a payout's JSON: the summary, every line and statement, and
// the rounding rule.
type PayoutDoc struct {
	Payout
	Rounding   string                 `json:"rounding"`
	Lines      []commission.Line      `json:"lines"`
	Statements []commission.Statement `json:"statements"`
}

// WritePayoutJSON writes the payout as JSON.
func WritePayoutJSON(w io.Writer, p Payout) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(PayoutDoc{Payout: p, Rounding: fmt.Sprintf("accrued exactly; %s", commission.LargestRemainder),
		Lines: p.Lines, Statements: p.Statements}); err != nil {
		return fmt.Errorf("payout json: %w", err)
	}
	return nil
}

// DayValue is a running total of a month on a day: a payee's exact trail
// accrued from the month's first day through Day (display: 10 decimals).
type DayValue struct {
	Day fund.Date
	Cum decimal.Decimal
}

// PayoutPDF is what a payee's payout statement shows: the statement, its
// trail and event lines, and the month's accrual day by day against the
// month before's (the chart).
type PayoutPDF struct {
	Month      fund.Date
	Statement  commission.Statement
	Lines      []commission.Line
	EventLines []commission.EventPayLine
	This, Prev []DayValue
}

// AccrualSeries is payee's running total of trail over month, one point a
// calendar day: each day's accruals split as the payout splits them
// (commission.BucketLines, exact), summed. Days of a month not accrued
// carry the total before them.
func AccrualSeries(days []commission.BucketDay, h *commission.Hierarchy, payee string, month fund.Date) ([]DayValue, error) {
	byDay := map[fund.Date][]commission.BucketDay{}
	for _, d := range days {
		byDay[d.Day] = append(byDay[d.Day], d)
	}
	var out []DayValue
	var cum commission.Accrual
	div := decimal.New(100*commission.DaysInYear, 0)
	for d := month; d.Month == month.Month; d = d.AddDays(1) {
		if items := byDay[d]; len(items) > 0 {
			lines, err := commission.BucketLines(items, h)
			if err != nil {
				return nil, err
			}
			for _, l := range lines {
				if l.Payee == payee {
					cum = cum.Add(l.Exact)
				}
			}
		}
		out = append(out, DayValue{Day: d, Cum: cum.Basis().DivRound(div, 10)})
	}
	return out, nil
}
