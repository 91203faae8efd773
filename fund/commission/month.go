package commission

import (
	"errors"
	"github.com/fundflow/fundflow/fund"
	"sort"
	"strings"
)

// Line is a payee's trail from one root ARN's holdings of one scheme over a
// period: Exact summed without rounding, Amount its share of the rounded
// line (Allocate). Payee "held:<id>" is held, with Reason.
type Line struct {
	Root   string
	Scheme string
	Payee  string
	Exact  Accrual
	Amount fund.Amount
	Reason string
}

// PayoutLines turns a period's daily accruals into payout lines: each day's
// accrual is split by the hierarchy in force that day, summed exactly per
// (root ARN, scheme, payee), and each (root ARN, scheme) total is rounded
// once and allocated (LargestRemainder). An accrual whose ARN is not valid on
// its day goes to the held payee "held:<ARN>" with the reason; so the lines of
// a (root, scheme) always add up to its rounded total. Lines are sorted by
// root, scheme and payee.
func PayoutLines(days []DayAccrual, h *Hierarchy) ([]Line, error) {
	type key struct{ root, scheme, payee string }
	sums := map[key]*Line{}
	for _, d := range days {
		if d.Accrual.IsZero() {
			continue
		}
		root := d.Holding.ARN
		split, err := h.Split(root, d.Day)
		reason := ""
		if errors.Is(err, ErrNoValidARN) {
			split, reason = []PayeeShare{{HeldPrefix + root, hundred}}, err.Error()
		} else if err != nil {
			return nil, err
		}
		for _, s := range split {
			k := key{root, d.Holding.Scheme, s.Payee}
			l := sums[k]
			if l == nil {
				l = &Line{Root: root, Scheme: d.Holding.Scheme, Payee: s.Payee}
				sums[k] = l
			}
			l.Exact = l.Exact.Add(d.Accrual.Share(s.Pct))
			if held, ok := strings.CutPrefix(s.Payee, HeldPrefix); ok && l.Reason == "" {
				l.Reason = reason
				if l.Reason == "" {
					l.Reason = "registration of " + held + " not in force on " + d.Day.String()
				}
			}
		}
	}
	lines := make([]Line, 0, len(sums))
	for _, l := range sums {
		lines = append(lines, *l)
	}
	sort.Slice(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if a.Root != b.Root {
			return a.Root < b.Root
		}
		if a.Scheme != b.Scheme {
			return a.Scheme < b.Scheme
		}
		return a.Payee < b.Payee
	})
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && lines[j].Root == lines[i].Root && lines[j].Scheme == lines[i].Scheme {
			j++
		}
		parts := make([]Part, 0, j-i)
		for _, l := range lines[i:j] {
			parts = append(parts, Part{l.Payee, l.Exact})
		}
		_, amts, err := Allocate(parts)
		if err != nil {
			return nil, err
		}
		for k := range amts {
			lines[i+k].Amount = amts[k]
		}
		i = j
	}
	return lines, nil
}
