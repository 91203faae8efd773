package recon

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// BrokerageHeader is the AMC brokerage statement layout this reconciliation
// reads (CAMS' and KFintech's own layouts were not available to us; this is
// the documented stand-in, one line per ARN, folio, scheme and month):
//
//	arn,folio_no,scheme_code,month,avg_aum,trail_pct,brokerage,clawback
//
// month is YYYY-MM; avg_aum the month's average AUM in rupees; trail_pct the
// rate the AMC applied (% a year); brokerage and clawback in rupees.
const BrokerageHeader = "arn,folio_no,scheme_code,month,avg_aum,trail_pct,brokerage,clawback"

// BrokerageLine is one line of either side: the AMC's statement or ours (from
// trail_accruals and the payout).
type BrokerageLine struct {
	ARN, Folio, Scheme, Month string
	AvgAUM                    decimal.Decimal
	TrailPct                  decimal.Decimal
	Brokerage                 fund.Amount
	Clawback                  fund.Amount
	Line                      int // the statement's line (0: ours)
}

func (l BrokerageLine) key() string { return l.ARN + "|" + l.Folio + "|" + l.Scheme + "|" + l.Month }

// Brokerage break types.
const (
	BreakMissingAtAMC    = "missing_folio_at_amc"    // we accrued, the AMC's statement has no line
	BreakMissingInLedger = "missing_folio_in_ledger" // the AMC pays a line we did not accrue
	BreakRate            = "rate_mismatch"
	BreakAUM             = "aum_mismatch"
	BreakAmount          = "amount_mismatch" // rate and AUM agree, the amount does not
	BreakClawback        = "clawback_mismatch"
)

// BrokerageBreak is one difference, typed.
type BrokerageBreak struct {
	Type string `json:"type"`
	Key  string `json:"key"` // arn|folio|scheme|month
	Ours string `json:"ours,omitempty"`
	AMC  string `json:"amc,omitempty"`
	Line int    `json:"line,omitempty"`
}

// AUMTolerance is how far the two average AUMs may differ (rounding of the
// AMC's daily values) before it is a break.
var AUMTolerance = decimal.New(1, 0)

// ReconcileBrokerage compares our lines with the AMC's, one break per
// difference found on a key (a line missing on one side is only that break;
// otherwise rate, AUM, amount and clawback are each checked), sorted by key
// and type. Clean sides give no break.
func ReconcileBrokerage(ours, amc []BrokerageLine) []BrokerageBreak {
	o := map[string]BrokerageLine{}
	for _, l := range ours {
		o[l.key()] = l
	}
	seen := map[string]bool{}
	var out []BrokerageBreak
	for _, a := range amc {
		k := a.key()
		seen[k] = true
		w, ok := o[k]
		if !ok {
			out = append(out, BrokerageBreak{Type: BreakMissingInLedger, Key: k, AMC: a.Brokerage.String(), Line: a.Line})
			continue
		}
		rateOK := w.TrailPct.Equal(a.TrailPct)
		aumOK := w.AvgAUM.Sub(a.AvgAUM).Abs().Cmp(AUMTolerance) <= 0
		if !rateOK {
			out = append(out, BrokerageBreak{Type: BreakRate, Key: k, Ours: w.TrailPct.String(), AMC: a.TrailPct.String(), Line: a.Line})
		}
		if !aumOK {
			out = append(out, BrokerageBreak{Type: BreakAUM, Key: k, Ours: w.AvgAUM.StringFixed(2), AMC: a.AvgAUM.StringFixed(2), Line: a.Line})
		}
		if rateOK && aumOK && !w.Brokerage.Equal(a.Brokerage) {
			out = append(out, BrokerageBreak{Type: BreakAmount, Key: k, Ours: w.Brokerage.String(), AMC: a.Brokerage.String(), Line: a.Line})
		}
		if !w.Clawback.Equal(a.Clawback) {
			out = append(out, BrokerageBreak{Type: BreakClawback, Key: k, Ours: w.Clawback.String(), AMC: a.Clawback.String(), Line: a.Line})
		}
	}
	for _, w := range ours {
		if !seen[w.key()] {
			out = append(out, BrokerageBreak{Type: BreakMissingAtAMC, Key: w.key(), Ours: w.Brokerage.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// BadBrokerageLine is a statement line that could not be read.
type BadBrokerageLine struct {
	Line   int
	Raw    string
	Reason string
}

// ParseBrokerageStatement reads an AMC statement in BrokerageHeader's
// layout; unreadable lines are returned with their reason (for quarantine),
// never a failure of the whole file.
func ParseBrokerageStatement(r io.Reader) ([]BrokerageLine, []BadBrokerageLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var out []BrokerageLine
	var bad []BadBrokerageLine
	n, header := 0, false
	for sc.Scan() {
		n++
		raw := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(raw) == "" {
			continue
		}
		if !header {
			header = true
			if strings.ReplaceAll(strings.ToLower(raw), " ", "") != BrokerageHeader {
				return nil, []BadBrokerageLine{{n, raw, "bad_header: want " + BrokerageHeader}}, nil
			}
			continue
		}
		l, err := parseBrokerageLine(raw)
		if err != nil {
			bad = append(bad, BadBrokerageLine{n, raw, err.Error()})
			continue
		}
		l.Line = n
		out = append(out, l)
	}
	return out, bad, sc.Err()
}

func parseBrokerageLine(raw string) (BrokerageLine, error) {
	f := strings.Split(raw, ",")
	if len(f) != 8 {
		return BrokerageLine{}, fmt.Errorf("bad_field_count: %d fields, want 8", len(f))
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	for i, name := range []string{"arn", "folio_no", "scheme_code"} {
		if f[i] == "" || len(f[i]) > 64 || fund.CheckText(name, f[i]) != nil {
			return BrokerageLine{}, fmt.Errorf("bad_field: %s %q", name, f[i])
		}
	}
	if _, err := fund.ParseISODate(f[3] + "-01"); err != nil || len(f[3]) != 7 {
		return BrokerageLine{}, fmt.Errorf("bad_field: month %q: want YYYY-MM", f[3])
	}
	l := BrokerageLine{ARN: f[0], Folio: f[1], Scheme: f[2], Month: f[3]}
	var err error
	if l.AvgAUM, err = plainNonNeg("avg_aum", f[4]); err != nil {
		return l, err
	}
	if l.TrailPct, err = plainNonNeg("trail_pct", f[5]); err != nil {
		return l, err
	}
	if l.Brokerage, err = fund.ParseAmount(f[6]); err != nil {
		return l, fmt.Errorf("bad_field: brokerage: %w", err)
	}
	if l.Clawback, err = fund.ParseAmount(f[7]); err != nil {
		return l, fmt.Errorf("bad_field: clawback: %w", err)
	}
	return l, nil
}

func plainNonNeg(name, s string) (decimal.Decimal, error) {
	if s == "" || len(s) > 30 || strings.Trim(s, "0123456789.") != "" || strings.Count(s, ".") > 1 || s == "." {
		return decimal.Zero, fmt.Errorf("bad_field: %s %q: want a plain non-negative number", name, s)
	}
	return decimal.RequireFromString(s), nil
}
