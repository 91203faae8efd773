package commissions

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"

	"github.com/fundflow/fundflow/fund/commission"
)

// StatementCSVHeader is the first line of a payout's CSV: one line per payee.
const StatementCSVHeader = "month,payee,payout_date,trail,upfront,events,clawback,gross,cgst,sgst,igst,gst,tds_pct,tds,net,carried"

// WriteStatementsCSV writes the payout's statements, one line per payee.
func WriteStatementsCSV(w io.Writer, p Payout) error {
	cw := csv.NewWriter(w)
	if _, err := io.WriteString(w, StatementCSVHeader+"\n"); err != nil {
		return err
	}
	for _, s := range p.Statements {
		if err := cw.Write([]string{p.Month.String()[:7], s.Payee, s.PayoutDate.String(), s.Trail.String(), s.Upfront.String(),
			s.Events.String(), s.Clawback.String(), s.Gross.String(), s.CGST.String(), s.SGST.String(), s.IGST.String(),
			s.GST.String(), s.TDSPct.String(), s.TDS.String(), s.Net.String(), s.Carried.String()}); err != nil {
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
