package recon

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// BrokerageInjections are the differences GenerateBrokerageStatement can
// inject, named by the break each must produce.
var BrokerageInjections = []string{BreakMissingAtAMC, BreakMissingInLedger, BreakRate, BreakAUM, BreakAmount, BreakClawback}

// BrokerageTruth is one injected difference: the break a reconciliation of
// the generated statement against our lines must report.
type BrokerageTruth struct {
	Type string `json:"type"`
	Key  string `json:"key"`
	Note string `json:"note"`
}

// BrokerageGenOptions drive GenerateBrokerageStatement.
type BrokerageGenOptions struct {
	Seed  uint64
	Rate  float64  // the share of our lines (0 to 1) that get one difference
	Types []string // the kinds to inject (default: all of BrokerageInjections)
}

// GenerateBrokerageStatement writes the AMC's side of a month as it would be
// for our lines, with differences injected into about Rate of them (one
// each, kinds drawn in turn from Types) and listed in the truth: a clean
// statement (Rate 0) reconciles with no break. A missing_folio_in_ledger
// difference adds a line for a folio we do not have ("GEN-…") beside the
// chosen one. The statement is sorted by key; lines carry no Line number.
func GenerateBrokerageStatement(ours []BrokerageLine, o BrokerageGenOptions) ([]BrokerageLine, []BrokerageTruth, error) {
	types := o.Types
	if len(types) == 0 {
		types = BrokerageInjections
	}
	for _, t := range types {
		if !isInjection(t) {
			return nil, nil, fmt.Errorf("brokerage injection %q: want one of %s", t, strings.Join(BrokerageInjections, ", "))
		}
	}
	if o.Rate < 0 || o.Rate > 1 {
		return nil, nil, fmt.Errorf("brokerage inject rate %v: want 0 to 1", o.Rate)
	}
	lines := append([]BrokerageLine(nil), ours...)
	sort.Slice(lines, func(i, j int) bool { return lines[i].key() < lines[j].key() })
	r := rand.New(rand.NewPCG(o.Seed, 18))
	var amc []BrokerageLine
	var truth []BrokerageTruth
	next := 0
	for i, l := range lines {
		l.Line = 0
		if r.Float64() >= o.Rate {
			amc = append(amc, l)
			continue
		}
		kind := types[next%len(types)]
		next++
		t := BrokerageTruth{Type: kind, Key: l.key()}
		switch kind {
		case BreakMissingAtAMC:
			t.Note = "line left out of the AMC's statement"
			truth = append(truth, t)
			continue
		case BreakMissingInLedger:
			x := l
			x.Folio = fmt.Sprintf("GEN-%06d", i+1)
			t.Key, t.Note = x.key(), "a line for a folio not in our ledger"
			amc = append(amc, x)
		case BreakRate:
			l.TrailPct = l.TrailPct.Add(decimal.New(5, -2))
			t.Note = "trail 0.05 % a year higher"
		case BreakAUM:
			l.AvgAUM = l.AvgAUM.Add(decimal.New(1000, 0))
			t.Note = "average AUM 1,000.00 higher"
		case BreakAmount:
			l.Brokerage = l.Brokerage.Add(fund.AmountFromPaise(1))
			t.Note = "brokerage one paisa higher"
		case BreakClawback:
			l.Clawback = l.Clawback.Add(fund.AmountFromPaise(500))
			t.Note = "clawback 5.00 higher"
		}
		truth = append(truth, t)
		amc = append(amc, l)
	}
	sort.Slice(amc, func(i, j int) bool { return amc[i].key() < amc[j].key() })
	sort.Slice(truth, func(i, j int) bool {
		if truth[i].Key != truth[j].Key {
			return truth[i].Key < truth[j].Key
		}
		return truth[i].Type < truth[j].Type
	})
	return amc, truth, nil
}

func isInjection(t string) bool {
	for _, k := range BrokerageInjections {
		if t == k {
			return true
		}
	}
	return false
}

// WriteBrokerageStatement writes lines in BrokerageHeader's layout (what
// ParseBrokerageStatement reads).
func WriteBrokerageStatement(w io.Writer, lines []BrokerageLine) error {
	if _, err := io.WriteString(w, BrokerageHeader+"\n"); err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := fmt.Fprintf(w, "%s,%s,%s,%s,%s,%s,%s,%s\n", l.ARN, l.Folio, l.Scheme, l.Month, l.AvgAUM.StringFixed(2),
			l.TrailPct.String(), l.Brokerage, l.Clawback); err != nil {
			return err
		}
	}
	return nil
}

// WriteBrokerageTruth writes the truth as JSON lines.
func WriteBrokerageTruth(w io.Writer, truth []BrokerageTruth) error {
	enc := json.NewEncoder(w)
	for _, t := range truth {
		if err := enc.Encode(t); err != nil {
			return err
		}
	}
	return nil
}

// ReadBrokerageTruth reads WriteBrokerageTruth's lines.
func ReadBrokerageTruth(r io.Reader) ([]BrokerageTruth, error) {
	dec := json.NewDecoder(r)
	var out []BrokerageTruth
	for {
		var t BrokerageTruth
		if err := dec.Decode(&t); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("brokerage truth: %w", err)
		}
		out = append(out, t)
	}
}

// TruthScore compares breaks with the truth by (type, key): found are the
// truth's breaks reported, missed those not, unexpected the breaks reported
// that the truth does not list.
type TruthScore struct {
	Found      int              `json:"found"`
	Missed     []BrokerageTruth `json:"missed,omitempty"`
	Unexpected []BrokerageBreak `json:"unexpected,omitempty"`
}

// ScoreBrokerage scores breaks against the truth.
func ScoreBrokerage(breaks []BrokerageBreak, truth []BrokerageTruth) TruthScore {
	want := map[[2]string]bool{}
	for _, t := range truth {
		want[[2]string{t.Type, t.Key}] = true
	}
	got := map[[2]string]bool{}
	var s TruthScore
	for _, b := range breaks {
		k := [2]string{b.Type, b.Key}
		got[k] = true
		if !want[k] {
			s.Unexpected = append(s.Unexpected, b)
		}
	}
	for _, t := range truth {
		if got[[2]string{t.Type, t.Key}] {
			s.Found++
		} else {
			s.Missed = append(s.Missed, t)
		}
	}
	return s
}
