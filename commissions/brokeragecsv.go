package commissions

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/pipelines"
)

// BrokerageHeader is the first line of a brokerage structure file. The
// layout (one structure per scheme, plan and effective date; one row per AUM
// slab):
//
//	scheme_code       AMFI scheme code, as in scheme_terms
//	plan              regular | direct (a direct row is kept but never pays)
//	effective_from    YYYY-MM-DD, in force until the next date of the scheme and plan
//	trail_pct         trail in % a year, e.g. 0.85 (at most 4 decimals)
//	slab_from_aum     the AUM (rupees) this row's rate starts at; 0 or empty for the
//	                  first (or only) row; the band the AUM is in sets the rate for
//	                  the whole AUM
//	upfront_pct       SEBI's upfronted trail, % of a small SIP instalment of a new investor
//	upfront_max_sip   the largest monthly instalment the upfront applies to
//	clawback_days     the period within which a redemption claws the upfront back
//	first_sip_amount  the platform's fixed commission on a folio's first SIP
//	referral_amount   (optional column) the platform's fixed commission on a new
//	                  investor's first investment
//
// A file has either header (BrokerageHeader, or BrokerageHeaderReferral with
// the tenth column) and every row its header's field count. The last four (five) are structure-wide: they are read from the slab-0 row and must
// be empty or the same on its other rows. Empty numbers are 0. A line starting
// with '#' and blank lines are skipped.
const BrokerageHeader = "scheme_code,plan,effective_from,trail_pct,slab_from_aum,upfront_pct,upfront_max_sip,clawback_days,first_sip_amount"

// BrokerageHeaderReferral is BrokerageHeader with the referral_amount column.
const BrokerageHeaderReferral = BrokerageHeader + ",referral_amount"

// BrokeragePipeline names the quarantine rows of brokerage files.
const BrokeragePipeline = "brokerage-structures"

// Quarantine reasons of a brokerage file.
const (
	ReasonBadHeader    = "bad_header"
	ReasonFieldCount   = "bad_field_count"
	ReasonBadField     = "bad_field"
	ReasonBadStructure = "bad_structure"         // the rows are fine, the structure they make is not
	ReasonSiblingBad   = "structure_has_bad_row" // a good row of a structure with a bad one: the whole structure waits
)

// BrokerageFile is a parsed brokerage file: the structures that load and the
// lines that go to quarantine. A structure with any bad row is not loaded
// at all (its good rows are quarantined with ReasonSiblingBad), so the
// structure in force before stays in force.
type BrokerageFile struct {
	Name       string
	SHA256     string
	Structures []commission.Structure
	Rejected   []pipelines.Rejected
	Rows       int // data lines read
}

type brokerageRow struct {
	line int
	raw  []byte
	err  *pipelines.RejectError
	key  structKey
	slab commission.Slab
	// structure-wide fields, with whether each was written
	upPct, upMax, firstSIP, referral decimal.Decimal
	clawDays                         int
	wide                             string // the structure-wide fields as written, for the consistency check
}

type structKey struct {
	scheme string
	plan   commission.Plan
	from   fund.Date
}

// MaxBrokerageLine bounds a line of a brokerage file.
const MaxBrokerageLine = 4096

// ParseBrokerage reads a brokerage structure file. It fails only when the
// file cannot be read; everything wrong inside it is a quarantined line.
func ParseBrokerage(name string, r io.Reader) (BrokerageFile, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return BrokerageFile{}, fmt.Errorf("brokerage file %s: %w", name, err)
	}
	sum := sha256.Sum256(b)
	f := BrokerageFile{Name: name, SHA256: hex.EncodeToString(sum[:])}
	reject := func(line int, raw []byte, reason, detail string) {
		f.Rejected = append(f.Rejected, pipelines.Rejected{Pipeline: BrokeragePipeline,
			Pos: pipelines.Position{File: name, SHA256: f.SHA256, Line: line}, Raw: append([]byte(nil), raw...),
			Reason: reason, Detail: fund.SafeText(detail)})
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), len(b)+1)
	var rows []*brokerageRow
	line, header, cols := 0, false, 9
	for sc.Scan() {
		line++
		raw := bytes.TrimRight(sc.Bytes(), "\r")
		text := strings.TrimSpace(string(raw))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if !header {
			header = true
			switch strings.ReplaceAll(strings.ToLower(text), " ", "") {
			case BrokerageHeader:
			case BrokerageHeaderReferral:
				cols = 10
			default:
				reject(line, raw, ReasonBadHeader, "want the header "+BrokerageHeader+" (optionally ,referral_amount)")
				return f, nil // without the header no line can be read: the whole file waits
			}
			continue
		}
		f.Rows++
		rows = append(rows, parseBrokerageRow(line, raw, cols))
	}
	if !header {
		reject(0, nil, ReasonBadHeader, "empty file: want the header "+BrokerageHeader)
		return f, nil
	}
	groups := map[structKey][]*brokerageRow{}
	var order []structKey
	for _, r := range rows {
		if r.err != nil {
			reject(r.line, r.raw, r.err.Reason, r.err.Detail)
			continue
		}
		if _, ok := groups[r.key]; !ok {
			order = append(order, r.key)
		}
		groups[r.key] = append(groups[r.key], r)
	}
	// A structure with a bad row anywhere waits whole.
	badKeys := map[structKey]int{}
	for _, r := range rows {
		if r.err != nil && r.key != (structKey{}) {
			if _, seen := badKeys[r.key]; !seen {
				badKeys[r.key] = r.line
			}
		}
	}
	for _, k := range order {
		g := groups[k]
		if bl, bad := badKeys[k]; bad {
			for _, r := range g {
				reject(r.line, r.raw, ReasonSiblingBad, fmt.Sprintf("%s %s from %s: line %d of the same structure is bad; the structure in force stays", k.scheme, k.plan, k.from, bl))
			}
			continue
		}
		s, err := buildStructure(k, g)
		if err != nil {
			for _, r := range g {
				reject(r.line, r.raw, ReasonBadStructure, fmt.Sprintf("%s %s from %s: %v; the structure in force stays", k.scheme, k.plan, k.from, err))
			}
			continue
		}
		f.Structures = append(f.Structures, s)
	}
	sort.SliceStable(f.Rejected, func(i, j int) bool { return f.Rejected[i].Pos.Line < f.Rejected[j].Pos.Line })
	if err := sc.Err(); err != nil {
		reject(line+1, nil, ReasonFieldCount, "unreadable line: "+err.Error())
	}
	return f, nil
}

func parseBrokerageRow(line int, raw []byte, cols int) *brokerageRow {
	r := &brokerageRow{line: line, raw: append([]byte(nil), raw...)}
	fail := func(reason, format string, args ...any) *brokerageRow {
		r.err = &pipelines.RejectError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
		return r
	}
	if len(raw) > MaxBrokerageLine {
		return fail(ReasonFieldCount, "line of %d bytes: over %d", len(raw), MaxBrokerageLine)
	}
	fs := strings.Split(string(raw), ",")
	for i := range fs {
		fs[i] = strings.TrimSpace(fs[i])
	}
	// The key first, even on a row with the wrong field count, so that a
	// mangled slab row still holds back the structure it belongs to.
	if len(fs) >= 3 {
		plan, perr := commission.ParsePlan(fs[1])
		from, derr := fund.ParseISODate(fs[2])
		if perr == nil && derr == nil && validScheme(fs[0]) {
			r.key = structKey{fs[0], plan, from}
		}
	}
	if len(fs) != cols {
		return fail(ReasonFieldCount, "%d fields: want %d, as the header", len(fs), cols)
	}
	if !validScheme(fs[0]) {
		return fail(ReasonBadField, "scheme_code %q: want 1 to 64 of A-Z a-z 0-9 . _ - /", fs[0])
	}
	if _, err := commission.ParsePlan(fs[1]); err != nil {
		return fail(ReasonBadField, "plan: %v", err)
	}
	if _, err := fund.ParseISODate(fs[2]); err != nil {
		return fail(ReasonBadField, "effective_from: %v", err)
	}
	var ok bool
	num := func(name, s string, scale int32, max decimal.Decimal) decimal.Decimal {
		if !ok {
			return decimal.Zero
		}
		if s == "" {
			return decimal.Zero
		}
		if !plainDecimal(s) || len(s) > 40 {
			ok = false
			fail(ReasonBadField, "%s %q: want a plain decimal number", name, s)
			return decimal.Zero
		}
		v := decimal.RequireFromString(s)
		if v.IsNegative() || v.Cmp(max) > 0 || !v.Equal(v.Truncate(scale)) {
			ok = false
			fail(ReasonBadField, "%s %s: want 0 to %s with at most %d decimals", name, s, max, scale)
			return decimal.Zero
		}
		return v
	}
	ok = true
	pctMax, amtMax := decimal.New(100, 0), decimal.RequireFromString("9999999999999999.99")
	r.slab.TrailPct = num("trail_pct", fs[3], 4, pctMax)
	if ok && fs[3] == "" {
		return fail(ReasonBadField, "trail_pct is required")
	}
	r.slab.FromAUM = num("slab_from_aum", fs[4], 2, decimal.RequireFromString("999999999999999999.99"))
	r.upPct = num("upfront_pct", fs[5], 4, pctMax)
	r.upMax = num("upfront_max_sip", fs[6], 2, amtMax)
	r.firstSIP = num("first_sip_amount", fs[8], 2, amtMax)
	if cols == 10 {
		r.referral = num("referral_amount", fs[9], 2, amtMax)
	}
	if !ok {
		return r
	}
	if fs[7] != "" {
		n, err := strconv.Atoi(fs[7])
		if err != nil || n < 0 || n > 3660 {
			return fail(ReasonBadField, "clawback_days %q: want a whole number of days, 0 to 3660", fs[7])
		}
		r.clawDays = n
	}
	r.wide = strings.Join(fs[5:], ",")
	return r
}

// validScheme accepts an AMFI scheme code or an ISIN-like code: 1 to 64 of
// A-Z a-z 0-9 . _ - /.
func validScheme(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
			return false
		}
	}
	return true
}

// plainDecimal is the number syntax of the file: digits with an optional
// point, nothing else (no sign, exponent or separators).
func plainDecimal(s string) bool {
	digits, point := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == '.' && !point:
			point = true
		default:
			return false
		}
	}
	return digits > 0
}

func buildStructure(k structKey, g []*brokerageRow) (commission.Structure, error) {
	sort.SliceStable(g, func(i, j int) bool { return g[i].slab.FromAUM.Cmp(g[j].slab.FromAUM) < 0 })
	first := g[0]
	s := commission.Structure{Scheme: k.scheme, Plan: k.plan, From: k.from, UpfrontPct: first.upPct,
		UpfrontMaxSIP: mustAmount(first.upMax), ClawbackDays: first.clawDays, FirstSIPAmount: mustAmount(first.firstSIP),
		ReferralAmount: mustAmount(first.referral)}
	if len(g) == 1 && first.slab.FromAUM.IsZero() {
		s.TrailPct = first.slab.TrailPct
	} else {
		for i, r := range g {
			if i > 0 && strings.Trim(r.wide, ",") != "" && r.wide != first.wide {
				return s, fmt.Errorf("line %d: upfront/clawback/first-SIP fields differ from the slab-0 row (line %d)", r.line, first.line)
			}
			s.Slabs = append(s.Slabs, r.slab)
		}
	}
	return s, s.Validate()
}

func mustAmount(d decimal.Decimal) fund.Amount {
	a, err := fund.AmountFromDecimal(d, fund.NoRounding)
	if err != nil {
		panic(err) // unreachable: checked to 2 decimals above
	}
	return a
}
