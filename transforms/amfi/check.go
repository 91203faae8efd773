package amfi

import (
	"io"

	"github.com/fundflow/fundflow/fund"
)

// FutureLimitDays is how far past the file's business date a row may be
// dated. Liquid and overnight funds publish NAVs for every calendar day, so
// a Friday file legitimately carries Saturday and Sunday rows (and a file
// fetched early may carry the next days'); anything later than
// BusinessDate+FutureLimitDays is rejected with ReasonFutureDate.
const FutureLimitDays = 3

// BusinessDate returns the business date of a file: the most frequent date
// among its good rows, the later date on a tie; the zero Date when there
// are no counts.
//
// Neither the earliest nor the latest row date will do. AMFI files carry
// stale rows of matured or wound-up schemes going back to 2008 (the 2017
// file's oldest row is 31-Mar-2008), so the minimum is years off; and liquid
// and overnight funds publish NAVs dated the coming weekend or even a day
// after the file was fetched (BANK OF INDIA LIQUID FUND dated 23-Aug-2026 in
// the file of 21-Aug-2026), so the maximum can be in the future. The
// publication date is the one that most schemes carry: in every file seen
// it is on roughly half to three quarters of the rows, and the runner-up
// (the weekend date of liquid funds, or the previous day) on under 10%.
func BusinessDate(dateCounts map[fund.Date]int) fund.Date {
	var best fund.Date
	bestN := 0
	for d, n := range dateCounts {
		if n <= 0 {
			continue
		}
		if n > bestN || (n == bestN && d.After(best)) {
			best, bestN = d, n
		}
	}
	return best
}

// BusinessDateOf returns the business date of a file of layout l. A
// historical NAV report covers a range of past days, each with about the same
// number of rows, so its business date is its latest date (nothing in it is
// "future"); a NAVAll file's is BusinessDate's most frequent date.
func BusinessDateOf(l Layout, dateCounts map[fund.Date]int) fund.Date {
	if l != LayoutHistory {
		return BusinessDate(dateCounts)
	}
	var latest fund.Date
	for d, n := range dateCounts {
		if n > 0 && (latest.IsZero() || d.After(latest)) {
			latest = d
		}
	}
	return latest
}

// IsFutureDated reports whether a row dated d is too far ahead of the file's
// business date (more than FutureLimitDays later). With a zero business
// date nothing is future-dated.
func IsFutureDated(d, business fund.Date) bool {
	return !business.IsZero() && d.After(business.AddDays(FutureLimitDays))
}

// Report is the dry-run summary of a NAV file (`fundflow check nav FILE`).
type Report struct {
	Layout       Layout         `json:"layout"`
	Rows         int            `json:"rows"`          // valid NAV records (after the future_date rule)
	Quarantined  int            `json:"quarantined"`   // rejected data rows, future_date included
	Reasons      map[string]int `json:"reasons"`       // reason -> count; never nil
	Schemes      int            `json:"schemes"`       // distinct scheme codes among valid rows
	AMCs         int            `json:"amcs"`          // distinct non-empty AMC names among valid rows
	Categories   int            `json:"categories"`    // distinct (scheme type, category) blocks among valid rows: "Open Ended Schemes(Income)" and "Close Ended Schemes(Income)" are two
	MinDate      string         `json:"min_date"`      // YYYY-MM-DD over valid rows; "" when there are none
	MaxDate      string         `json:"max_date"`      // YYYY-MM-DD over valid rows; "" when there are none
	BusinessDate string         `json:"business_date"` // YYYY-MM-DD, see BusinessDate; "" when there are no good rows
}

// Check parses a whole NAV file and summarises it without loading anything,
// by the parser's rules only (not the stage's: for what nav-ingest would
// quarantine, see transforms/nav.Check).
// The rows are parsed once; the good ones are kept (in memory: a NAVAll
// file is ~2 MB) until the business date is known, then the future-date
// rule is applied to them. An input that is not a NAV file returns an error
// for which errors.Is(err, ErrNotNAVFile) holds.
func Check(r io.Reader) (Report, error) {
	rep := Report{Reasons: map[string]int{}}
	p, err := NewParser(r)
	if err != nil {
		return rep, err
	}
	rep.Layout = p.Layout()

	type good struct {
		date                     fund.Date
		code, amc, typ, category string
	}
	var goods []good
	counts := map[fund.Date]int{}
	for {
		row, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rep, err
		}
		if row.Reason != "" {
			rep.Quarantined++
			rep.Reasons[row.Reason]++
			continue
		}
		rec := &row.Record
		goods = append(goods, good{rec.Date, rec.SchemeCode, rec.AMC, rec.SchemeType, rec.Category})
		counts[rec.Date]++
	}

	business := BusinessDateOf(rep.Layout, counts)
	type block struct{ typ, category string }
	schemes := map[string]struct{}{}
	amcs := map[string]struct{}{}
	blocks := map[block]struct{}{}
	var lo, hi fund.Date
	for _, g := range goods {
		if IsFutureDated(g.date, business) {
			rep.Quarantined++
			rep.Reasons[ReasonFutureDate]++
			continue
		}
		rep.Rows++
		schemes[g.code] = struct{}{}
		if g.amc != "" {
			amcs[g.amc] = struct{}{}
		}
		if g.typ != "" || g.category != "" {
			blocks[block{g.typ, g.category}] = struct{}{}
		}
		if lo.IsZero() || g.date.Before(lo) {
			lo = g.date
		}
		if hi.IsZero() || g.date.After(hi) {
			hi = g.date
		}
	}
	rep.Schemes, rep.AMCs, rep.Categories = len(schemes), len(amcs), len(blocks)
	if rep.Rows > 0 {
		rep.MinDate, rep.MaxDate = lo.String(), hi.String()
	}
	if !business.IsZero() {
		rep.BusinessDate = business.String()
	}
	return rep, nil
}
