package pgstore

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/recon"
)

// statements is every SQL text Reconcile runs with the codes.
func statements() map[string]string {
	m := map[string]string{"holding dups": sqlHoldingDups, "holdings": sqlHoldings, "txn dup keys": sqlTxnDupKeys,
		"txn dups": sqlTxnDups, "transactions": sqlTransactions, "txn counts": sqlTxnCounts, "match by content": sqlMatchByContent, "kind notes": sqlKindNotesByRef,
		"merge": sqlMerge, "resolve": sqlResolve}
	for cause, qs := range causeSQL {
		for i, q := range qs {
			m["cause "+cause+" "+string(rune('a'+i))] = q
		}
	}
	return m
}

var (
	quoted = regexp.MustCompile(`'((?:[^']|'')*)'`)
	named  = regexp.MustCompile(`@([A-Za-z_][A-Za-z0-9_]*)`)
)

// TestSQLTakesCodesAsParameters: no recon SQL spells a cause code, break
// type, break status, waiting order status or ledger kind that Go defines;
// each comes in as a named parameter. Every name a statement uses is given.
func TestSQLTakesCodesAsParameters(t *testing.T) {
	terms := map[string]string{}
	for _, c := range fund.Causes {
		terms[c] = "cause"
	}
	for _, b := range fund.BreakTypes {
		terms[string(b)] = "break type"
	}
	for _, s := range fund.BreakStatuses {
		terms[s] = "break status"
	}
	for _, s := range recon.Waiting {
		terms[string(s)] = "order status"
	}
	for _, k := range recon.UnitsIn {
		terms[k.String()] = "ledger kind"
	}
	for _, k := range append(recon.NoUnits, recon.LedgerUnitsIn...) {
		terms[k] = "ledger kind"
	}
	given := codes()
	for _, run := range []string{"date", "from", "files", "run", "holding_rtas", "txn_rtas"} {
		given[run] = true
	}
	for name, q := range statements() {
		for _, m := range quoted.FindAllStringSubmatch(q, -1) {
			if what, ok := terms[m[1]]; ok {
				t.Errorf("%s: the %s %q is a literal in the SQL, not a parameter", name, what, m[1])
			}
		}
		// Strings in quotes are text, not parameters ('ops@x' is no name).
		for _, m := range named.FindAllStringSubmatch(quoted.ReplaceAllString(q, "''"), -1) {
			if _, ok := given[m[1]]; !ok {
				t.Errorf("%s: @%s is not given (it would be NULL)", name, m[1])
			}
		}
	}
}

// TestEveryCauseRuleHasSQL: recon.CauseRules (the order) and causeSQL (the
// statements) name the same causes, each once.
func TestEveryCauseRuleHasSQL(t *testing.T) {
	var rules, sqls []string
	seen := map[string]bool{}
	for _, r := range recon.CauseRules {
		if seen[r.Cause] {
			t.Errorf("rule %q listed twice", r.Cause)
		}
		seen[r.Cause] = true
		rules = append(rules, r.Cause)
	}
	for c, qs := range causeSQL {
		if len(qs) == 0 {
			t.Errorf("rule %q has no statement", c)
		}
		sqls = append(sqls, c)
	}
	sort.Strings(rules)
	sort.Strings(sqls)
	if strings.Join(rules, ",") != strings.Join(sqls, ",") {
		t.Fatalf("cause rules %v, SQL for %v", rules, sqls)
	}
}
