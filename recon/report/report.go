// Package report writes folio-recon's daily report: every break of the
// run as CSV (both sides' values and positions, cause, status, first seen,
// age), a short summary — counts by type and age, by cause and RTA, and
// the largest unit differences — as text for people and JSON for machines,
// and a chart of the counts by type and age as an SVG picture.
// Breaks are streamed in; only the counts and the top differences are kept.
package report

import (
	"bytes"
	"container/heap"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// AgeBuckets are the age columns of the summary, in days since first seen.
var AgeBuckets = []struct {
	Name     string
	From, To int // inclusive
}{{"0d", 0, 0}, {"1-2d", 1, 2}, {"3-7d", 3, 7}, {"8-30d", 8, 30}, {">30d", 31, 1 << 30}}

// Top is how many of the largest unit differences the summary lists.
const Top = 10

// Run says what was compared (from the reconciliation's result).
type Run struct {
	RunID              int64     `json:"run_id"`
	Date               fund.Date `json:"-"`
	HoldingsRTAs       []string  `json:"holdings_rtas"`
	TransactionsRTAs   []string  `json:"transactions_rtas"`
	RTAHoldings        int64     `json:"rta_holdings"`
	LedgerHoldings     int64     `json:"ledger_holdings"`
	RTATransactions    int64     `json:"rta_transactions"`
	LedgerTransactions int64     `json:"ledger_transactions"`
	UnmappedSchemes    []string  `json:"unmapped_schemes"`
	Seconds            float64   `json:"seconds"`
}

// Diff is one of the largest unit differences.
type Diff struct {
	Key         string `json:"key"`
	Type        string `json:"type"`
	RTA         string `json:"rta"`
	Folio       string `json:"folio"`
	Subject     string `json:"subject"` // scheme (holdings) or order / RTA transaction (transactions)
	RTAUnits    string `json:"rta_units"`
	LedgerUnits string `json:"ledger_units"`
	UnitsDiff   string `json:"units_diff"`
	Cause       string `json:"cause"`
	abs         decimal.Decimal
}

// Summary is the report's summary.
type Summary struct {
	Date      string                    `json:"date"`
	Run       Run                       `json:"run"`
	Open      int                       `json:"open"`
	Explained int                       `json:"explained"`
	New       int                       `json:"new"`
	Resolved  int                       `json:"resolved"`
	ByType    map[string]int            `json:"by_type"`     // open + explained
	ByTypeAge map[string]map[string]int `json:"by_type_age"` // type → age bucket → count
	ByCause   map[string]int            `json:"by_cause"`
	ByRTA     map[string]int            `json:"by_rta"`
	Largest   []Diff                    `json:"largest_unit_differences"`
	CSV       string                    `json:"csv"`
	Chart     string                    `json:"chart"` // the SVG chart's path
}

// Report is one report being written.
type Report struct {
	dir, csvPath string
	f            *os.File
	w            *csv.Writer
	s            Summary
	top          diffHeap
	date         fund.Date
}

var csvHeader = []string{"id", "status", "type", "scope", "cause", "rta", "folio", "scheme_code", "product_code", "order_id",
	"rta_txn_no", "ledger_tx_id", "rta_units", "ledger_units", "units_diff", "rta_amount", "ledger_amount", "payment_amount",
	"rta_stamp_duty", "ledger_stamp_duty", "rta_nav_date", "ledger_nav_date", "rta_file", "rta_file_sha256", "rta_line",
	"first_seen", "age_days", "last_seen", "resolved_on", "detail", "break_key"}

// New starts the report of run in dir (created if missing):
// breaks_YYYYMMDD.csv, summary_YYYYMMDD.txt, summary_YYYYMMDD.json and
// chart_YYYYMMDD.svg.
func New(dir string, run Run) (*Report, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	day := run.Date.Time().Format("20060102")
	r := &Report{dir: dir, csvPath: filepath.Join(dir, "breaks_"+day+".csv"), date: run.Date}
	f, err := os.Create(r.csvPath + ".tmp")
	if err != nil {
		return nil, err
	}
	r.f, r.w = f, csv.NewWriter(f)
	if err := r.w.Write(csvHeader); err != nil {
		f.Close()
		return nil, err
	}
	r.s = Summary{Date: run.Date.String(), Run: run, ByType: map[string]int{}, ByTypeAge: map[string]map[string]int{},
		ByCause: map[string]int{}, ByRTA: map[string]int{}, CSV: r.csvPath, Chart: filepath.Join(dir, "chart_"+day+".svg")}
	return r, nil
}

func dec(d decimal.NullDecimal) string {
	if !d.Valid {
		return ""
	}
	return d.Decimal.String()
}

func date(d fund.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func subject(b fund.Break) string {
	if b.Scope == "holding" {
		if b.SchemeCode != "" {
			return b.SchemeCode
		}
		return b.ProductCode
	}
	if b.OrderID != "" {
		return b.OrderID
	}
	return b.RTATxnNo
}

// Add writes one break and counts it.
func (r *Report) Add(b fund.Break) error {
	age := b.AgeDays(r.date)
	ledgerTx := ""
	if b.LedgerTxID != 0 {
		ledgerTx = strconv.FormatInt(b.LedgerTxID, 10)
	}
	line := ""
	if b.RTALine > 0 {
		line = strconv.Itoa(b.RTALine)
	}
	if err := r.w.Write([]string{strconv.FormatInt(b.ID, 10), b.Status, string(b.Type), b.Scope, b.Cause, b.RTA, b.Folio,
		b.SchemeCode, b.ProductCode, b.OrderID, b.RTATxnNo, ledgerTx, dec(b.RTAUnits), dec(b.LedgerUnits), dec(b.UnitsDiff),
		dec(b.RTAAmount), dec(b.LedgerAmount), dec(b.PaymentAmount), dec(b.RTAStampDuty), dec(b.LedgerStampDuty),
		date(b.RTANAVDate), date(b.LedgerNAVDate), b.RTAFile, b.RTAFileSHA256, line, date(b.FirstSeen), strconv.Itoa(age),
		date(b.LastSeen), date(b.Resolved), b.Detail, b.Key}); err != nil {
		return err
	}
	if b.Status == fund.BreakResolved {
		r.s.Resolved++
		return nil
	}
	if b.Status == fund.BreakExplained {
		r.s.Explained++
	} else {
		r.s.Open++
	}
	if b.FirstSeen == r.date {
		r.s.New++
	}
	t := string(b.Type)
	r.s.ByType[t]++
	if r.s.ByTypeAge[t] == nil {
		r.s.ByTypeAge[t] = map[string]int{}
	}
	for _, a := range AgeBuckets {
		if age >= a.From && age <= a.To {
			r.s.ByTypeAge[t][a.Name]++
		}
	}
	cause := b.Cause
	if cause == "" {
		cause = "(none inferred)"
	}
	r.s.ByCause[cause]++
	r.s.ByRTA[b.RTA]++
	if b.UnitsDiff.Valid && !b.UnitsDiff.Decimal.IsZero() {
		d := Diff{Key: b.Key, Type: t, RTA: b.RTA, Folio: b.Folio, Subject: subject(b), RTAUnits: dec(b.RTAUnits),
			LedgerUnits: dec(b.LedgerUnits), UnitsDiff: dec(b.UnitsDiff), Cause: b.Cause, abs: b.UnitsDiff.Decimal.Abs()}
		if r.top.Len() < Top {
			heap.Push(&r.top, d)
		} else if d.abs.GreaterThan(r.top[0].abs) {
			r.top[0] = d
			heap.Fix(&r.top, 0)
		}
	}
	return nil
}

// Close finishes the CSV and writes the summaries and the chart; it
// returns the summary.
func (r *Report) Close() (Summary, error) {
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		r.f.Close()
		return r.s, err
	}
	if err := r.f.Close(); err != nil {
		return r.s, err
	}
	if err := os.Rename(r.csvPath+".tmp", r.csvPath); err != nil {
		return r.s, err
	}
	r.s.Largest = make([]Diff, r.top.Len())
	for i := len(r.s.Largest) - 1; i >= 0; i-- {
		r.s.Largest[i] = heap.Pop(&r.top).(Diff)
	}
	var chart bytes.Buffer
	if err := WriteChart(&chart, r.s); err != nil {
		return r.s, err
	}
	if err := os.WriteFile(r.s.Chart, chart.Bytes(), 0o644); err != nil {
		return r.s, err
	}
	day := r.date.Time().Format("20060102")
	js, err := json.MarshalIndent(r.s, "", "  ")
	if err != nil {
		return r.s, err
	}
	if err := os.WriteFile(filepath.Join(r.dir, "summary_"+day+".json"), append(js, '\n'), 0o644); err != nil {
		return r.s, err
	}
	f, err := os.Create(filepath.Join(r.dir, "summary_"+day+".txt"))
	if err != nil {
		return r.s, err
	}
	WriteText(f, r.s)
	return r.s, f.Close()
}

// WriteText writes the summary for people.
func WriteText(w io.Writer, s Summary) {
	run := s.Run
	fmt.Fprintf(w, "folio-recon %s (run %d, %.1fs)\n", s.Date, run.RunID, run.Seconds)
	fmt.Fprintf(w, "holdings:     RTA %d rows vs ledger %d folio-schemes (%s)\n", run.RTAHoldings, run.LedgerHoldings, list(run.HoldingsRTAs))
	fmt.Fprintf(w, "transactions: RTA %d rows vs ledger %d allotments (%s)\n", run.RTATransactions, run.LedgerTransactions, list(run.TransactionsRTAs))
	if len(run.UnmappedSchemes) > 0 {
		fmt.Fprintf(w, "not reconciled: %d schemes held in our ledger have no RTA code in rta_schemes (%s)\n",
			len(run.UnmappedSchemes), strings.Join(cutList(run.UnmappedSchemes, 8), ", "))
	}
	fmt.Fprintf(w, "breaks: %d open, %d explained (%d new today); %d resolved today\n\n", s.Open, s.Explained, s.New, s.Resolved)
	fmt.Fprintf(w, "%-18s", "type")
	for _, a := range AgeBuckets {
		fmt.Fprintf(w, " %7s", a.Name)
	}
	fmt.Fprintf(w, " %8s\n", "total")
	for _, t := range fund.BreakTypes {
		fmt.Fprintf(w, "%-18s", t)
		for _, a := range AgeBuckets {
			fmt.Fprintf(w, " %7d", s.ByTypeAge[string(t)][a.Name])
		}
		fmt.Fprintf(w, " %8d\n", s.ByType[string(t)])
	}
	if len(s.ByCause) > 0 {
		fmt.Fprintf(w, "\nprobable causes: %s\n", counts(s.ByCause))
		fmt.Fprintf(w, "by RTA:          %s\n", counts(s.ByRTA))
	}
	if len(s.Largest) > 0 {
		fmt.Fprintf(w, "\nlargest unit differences (RTA − ledger):\n")
		for _, d := range s.Largest {
			cause := ""
			if d.Cause != "" {
				cause = " [" + d.Cause + "]"
			}
			fmt.Fprintf(w, "  %14s  %-8s folio %-14s %-14s %-17s RTA %s, ledger %s%s\n", d.UnitsDiff, d.RTA, d.Folio, d.Subject, d.Type,
				or(d.RTAUnits, "-"), or(d.LedgerUnits, "-"), cause)
		}
	}
	fmt.Fprintf(w, "\nevery break: %s\n", s.CSV)
	if s.Chart != "" {
		fmt.Fprintf(w, "chart: %s\n", s.Chart)
	}
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func list(s []string) string {
	if len(s) == 0 {
		return "no file"
	}
	return strings.Join(s, ", ")
}

func cutList(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// diffHeap is a min-heap by absolute difference: its root is the smallest
// of the largest kept so far.
type diffHeap []Diff

func (h diffHeap) Len() int { return len(h) }
func (h diffHeap) Less(i, j int) bool {
	if c := h[i].abs.Cmp(h[j].abs); c != 0 {
		return c < 0
	}
	return h[i].Key > h[j].Key
}
func (h diffHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *diffHeap) Push(x any)   { *h = append(*h, x.(Diff)) }
func (h *diffHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
