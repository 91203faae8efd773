package commissions

import (
	"errors"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund/commission"
)

const distributorsJSON = `{"distributors": [
  {"id": "ARN-1", "kind": "arn", "name": "Asha Advisors", "valid_from": "2020-01-01", "gst_registered": true},
  {"id": "SUB-A", "kind": "sub", "valid_from": "2020-01-01", "valid_to": "2026-12-31"}],
 "trees": [{"root": "ARN-1", "from": "2026-01-01",
   "shares": [{"parent": "ARN-1", "payee": "ARN-1", "pct": "60"}, {"parent": "ARN-1", "payee": "SUB-A", "pct": "40"}]}]}`

func TestParseDistributors(t *testing.T) {
	ps, ts, err := ParseDistributors(strings.NewReader(distributorsJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || !ps[0].GSTRegistered || ps[1].ValidTo != d("2026-12-31") || len(ts) != 1 || len(ts[0].Shares) != 2 || ps[0].IntraState {
		t.Errorf("%+v %+v", ps, ts)
	}
	for _, c := range []struct{ name, in, want string }{
		{"99 %", strings.Replace(distributorsJSON, `"pct": "40"`, `"pct": "39"`, 1), "sum to 99"},
		{"number pct", strings.Replace(distributorsJSON, `"pct": "40"`, `"pct": 40`, 1), "cannot unmarshal"},
		{"unknown field", strings.Replace(distributorsJSON, `"name"`, `"nam"`, 1), "unknown field"},
		{"bad kind", strings.Replace(distributorsJSON, `"kind": "sub"`, `"kind": "agent"`, 1), "distributors[1]"},
		{"bad date", strings.Replace(distributorsJSON, `"2026-12-31"`, `"31-12-2026"`, 1), "valid_to"},
	} {
		_, _, err := ParseDistributors(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error with %q", c.name, err, c.want)
		}
	}
	bad := strings.Replace(distributorsJSON, `"pct": "40"`, `"pct": "39"`, 1)
	if _, _, err := ParseDistributors(strings.NewReader(bad)); !errors.Is(err, commission.ErrShares) {
		t.Errorf("99 %% tree: %v; want ErrShares", err)
	}
}

// FuzzParseDistributors: no input panics; what is accepted makes a hierarchy.
func FuzzParseDistributors(f *testing.F) {
	f.Add(distributorsJSON)
	f.Add(`{"distributors":[],"trees":[]}`)
	f.Add(`{"trees":[{"root":"X","from":"2026-01-01","shares":[{"parent":"X","payee":"X","pct":"1e2"}]}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		ps, ts, err := ParseDistributors(strings.NewReader(in))
		if err != nil {
			return
		}
		if _, err := commission.NewHierarchy(ps, ts); err != nil {
			t.Fatalf("accepted a file that makes no hierarchy: %v", err)
		}
	})
}
