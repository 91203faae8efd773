package tax

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
)

// CSVHeader is the lot-wise capital-gains CSV's header.
var CSVHeader = []string{"investor_id", "fy", "folio", "scheme_code", "scheme_name", "isin", "scheme_type",
	"ledger_tx_id", "kind", "lot_id", "bought", "sold", "units", "term", "rate_section", "rate_pct",
	"cost_actual", "fmv_per_unit_2018_01_31", "fmv_2018_01_31", "grandfathered", "cost_used",
	"sale_gross", "exit_load", "sale_value", "gain"}

// WriteCSV writes st lot by lot (the header first when header is true, so
// a stream of investors is one file).
func WriteCSV(w io.Writer, st *Statement, header bool) error {
	cw := csv.NewWriter(w)
	if header {
		if err := cw.Write(CSVHeader); err != nil {
			return err
		}
	}
	for _, sg := range st.Schemes {
		for _, l := range sg.Lots {
			if err := cw.Write([]string{st.InvestorID, st.FY.String(), l.Folio, sg.Scheme, sg.Name, sg.ISIN, string(sg.SchemeType),
				strconv.FormatInt(l.TxID, 10), l.Kind, l.LotID, l.Bought.String(), l.Sold.String(), l.Units.String(),
				string(l.Term), l.RateSection, l.RatePct, l.CostActual.String(), navOrEmpty(l.FMVPerUnit), amountOrEmpty(l.FMV),
				l.Grandfathered, l.CostUsed.String(), l.SaleGross.String(), l.ExitLoad.String(), l.SaleValue.String(), l.Gain.String()}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func navOrEmpty(n *fund.NAV) string {
	if n == nil {
		return ""
	}
	return n.String()
}

func amountOrEmpty(a *fund.Amount) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// Schedule112AHeader is the column layout of Schedule 112A of ITR-2/ITR-3
// ("From sale of equity share or unit of equity oriented fund or unit of
// business trust on which STT is paid under section 112A"), one row per
// lot transferred, in the form's column order and numbering. Source: the
// CBDT-notified ITR-2 form's Schedule 112A table and the e-filing
// utility's CSV template, whose headings are quoted in full at
// https://zerodha.com/z-connect/comment/228395 (27 Jul 2022); the
// columns' arithmetic (6 = 4 × 5, 7 = higher of 8 and 9, 9 = lower of 6
// and 11, 11 = 4 × 10, 13 = 7 + 12, 14 = 6 − 13) is the form's. The last
// column is ours, not the form's: the transfer date, which the return needs
// to split the year's rows at 23-Jul-2024 (10 % before, 12.5 % from then).
var Schedule112AHeader = []string{
	"Share/Unit acquired(1a)",
	"ISIN Code(2)",
	"Name of the Share/Unit(3)",
	"No. of Shares/Units(4)",
	"Sale-price per Share/Unit(5)",
	"Full Value of Consideration(Total Sale Value)(6) = 4 * 5",
	"Cost of acquisition without indexation(7)",
	"Cost of acquisition(8)",
	"If the long term capital asset was acquired before 01.02.2018(9)",
	"Fair Market Value per share/unit as on 31st January 2018(10)",
	"Total Fair Market Value of capital asset as per section 55(2)(ac)(11) = 4 * 10",
	"Expenditure wholly and exclusively in connection with transfer(12)",
	"Total deductions(13) = 7 + 12",
	"Balance(14) = 6 - 13",
	"Date of transfer (not in the form)",
}

// Schedule 112A column 1a's two values.
const (
	AcquiredOnOrBefore = "On or before 31st January 2018"
	AcquiredAfter      = "After 31st January 2018"
)

// WriteSchedule112A writes st's equity long-term lots (section 112A) in the
// Schedule 112A layout (the header first when header is true).
func WriteSchedule112A(w io.Writer, st *Statement, header bool) error {
	cw := csv.NewWriter(w)
	if header {
		if err := cw.Write(Schedule112AHeader); err != nil {
			return err
		}
	}
	for _, sg := range st.Schemes {
		for _, l := range sg.Lots {
			if l.RateSection != ftax.Sec112A {
				continue
			}
			row, err := schedule112ARow(sg, l)
			if err != nil {
				return err
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func schedule112ARow(sg SchemeGains, l LotLine) ([]string, error) {
	acquired, col9, col10, col11 := AcquiredAfter, "0.00", "0.00", "0.00"
	if l.Bought.Before(ftax.GrandfatherBefore) {
		if l.FMV == nil || l.FMVPerUnit == nil {
			return nil, fmt.Errorf("tax: lot %s of %s bought %s has no FMV", l.LotID, sg.Scheme, l.Bought)
		}
		acquired, col10, col11 = AcquiredOnOrBefore, l.FMVPerUnit.String(), l.FMV.String()
		lower := l.SaleGross // lower of 6 and 11
		if l.FMV.Cmp(lower) < 0 {
			lower = *l.FMV
		}
		col9 = lower.String()
	}
	deductions := l.CostUsed.Add(l.ExitLoad)
	return []string{
		acquired, sg.ISIN, sg.Name, l.Units.String(), l.NAV.String(),
		l.SaleGross.String(), l.CostUsed.String(), l.CostActual.String(), col9, col10, col11,
		l.ExitLoad.String(), deductions.String(), l.SaleGross.Sub(deductions).String(), l.Sold.String(),
	}, nil
}
