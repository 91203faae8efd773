// Package kra parses the KYC registration agencies' status files: the KYC
// status of each PAN, and the PAN–Aadhaar link status (an unlinked PAN is
// inoperative).
//
// The layout is header-driven: the first non-blank line names the columns
// (in any order, '|' or ',' separated, unknown columns ignored), and the
// names are the KRAs' own field names of their PAN inquiry response
// ("Verify PAN details", IOP1, as documented by CAMS KRA:
// camsonline.gitbook.io/sandbox-for-kra/verify-pan-details-iop1/response-parameters):
//
//	APP_PAN_NO             the PAN (required)
//	APP_STATUS             the KYC status code (01..07, 11, 12, 13, 22; 99: the KRA did not answer)
//	CVLKRA, CAMSKRA, NDMLKRA, DOTEXKRA, KARVYKRA, BSEKRA
//	                       the IOP1 response's per-KRA status columns, used when APP_STATUS is
//	                       absent: the status is that of the KRA holding the record (the first
//	                       column with a code other than 05 "not available" and 99)
//	APP_STATUSDT           the status date, DD-MM-YYYY[ HH:MM:SS] (IST) (required)
//	APP_NAME, APP_HOLD_DEACTIVE_RMKS, APP_UPDT_STATUS   optional, kept for the detail
//
// The PAN–Aadhaar feed has APP_PAN_NO, PAN_AADHAAR_LINK (Y linked, N not
// linked: the PAN is inoperative, E exempt) and optionally APP_STATUSDT.
// The flattening of the XML response into one delimited file per batch is
// ours; the field names and codes are the KRAs'.
package kra

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/kyc"
)

// Kind is what a file reports.
type Kind string

// Kinds of file.
const (
	KindStatus  Kind = "kyc_status"
	KindAadhaar Kind = "pan_aadhaar"
)

// ErrNotKRAFile says the header is not a KRA status file's.
var ErrNotKRAFile = errors.New("not a KRA status file")

// Row is one data line: parsed, or refused with a reason.
type Row struct {
	Line        int
	Raw         []byte
	PAN         string
	Name        string
	KRA         string // the KRA holding the record ("" when the file does not say)
	Code        string // the KRA status code as sent
	Status      kyc.Status
	Inoperative bool // pan_aadhaar: not linked
	At          time.Time
	Remarks     string
	Reason      string // "" for a good row
	Detail      string
}

// Reasons a row is refused.
const (
	ReasonBadPAN      = "bad_pan"
	ReasonBadStatus   = "bad_status"
	ReasonUnreachable = "kra_unreachable" // 99: no news; the last good status stays
	ReasonBadDate     = "bad_date"
	ReasonShortRow    = "short_row"
	ReasonBadLink     = "bad_link_status"
	ReasonBadEncoding = "bad_encoding"
)

var kraColumns = []string{"CVLKRA", "CAMSKRA", "NDMLKRA", "DOTEXKRA", "KARVYKRA", "BSEKRA"}

// Parser reads one file.
type Parser struct {
	sc    *bufio.Scanner
	line  int
	sep   string
	col   map[string]int
	kind  Kind
	ncols int
}

// NewParser reads the header and returns a parser positioned on the first
// data line.
func NewParser(r io.Reader) (*Parser, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	p := &Parser{sc: sc}
	for sc.Scan() {
		p.line++
		h := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if h == "" {
			continue
		}
		return p, p.header(h)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: no header", ErrNotKRAFile)
}

func (p *Parser) header(h string) error {
	p.sep = "|"
	if !strings.Contains(h, "|") {
		p.sep = ","
	}
	names := strings.Split(h, p.sep)
	p.col = map[string]int{}
	for i, n := range names {
		p.col[strings.ToUpper(strings.TrimSpace(n))] = i
	}
	p.ncols = len(names)
	if _, ok := p.col["APP_PAN_NO"]; !ok {
		return fmt.Errorf("%w: no APP_PAN_NO column in %q", ErrNotKRAFile, clip(h))
	}
	if _, ok := p.col["PAN_AADHAAR_LINK"]; ok {
		p.kind = KindAadhaar
		return nil
	}
	p.kind = KindStatus
	_, status := p.col["APP_STATUS"]
	for _, k := range kraColumns {
		_, has := p.col[k]
		status = status || has
	}
	if !status {
		return fmt.Errorf("%w: neither APP_STATUS nor a KRA column (CVLKRA, CAMSKRA, ...) in %q", ErrNotKRAFile, clip(h))
	}
	if _, ok := p.col["APP_STATUSDT"]; !ok {
		return fmt.Errorf("%w: no APP_STATUSDT column in %q", ErrNotKRAFile, clip(h))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// Kind is the file's kind.
func (p *Parser) Kind() Kind { return p.kind }

// Next returns the next data row (io.EOF at the end). Blank lines are skipped.
func (p *Parser) Next() (Row, error) {
	for p.sc.Scan() {
		p.line++
		raw := p.sc.Bytes()
		if strings.TrimSpace(string(raw)) == "" {
			continue
		}
		return p.row(p.line, append([]byte(nil), raw...)), nil
	}
	if err := p.sc.Err(); err != nil {
		return Row{}, err
	}
	return Row{}, io.EOF
}

func (p *Parser) row(line int, raw []byte) Row {
	r := Row{Line: line, Raw: raw}
	text := string(raw)
	if e := fund.CheckText("line", text); e != nil {
		r.Raw = []byte(fund.SafeText(text))
		r.Reason, r.Detail = ReasonBadEncoding, e.Detail
		return r
	}
	f := strings.Split(strings.TrimRight(text, "\r"), p.sep)
	if len(f) < p.ncols {
		r.Reason, r.Detail = ReasonShortRow, fmt.Sprintf("%d fields, the header has %d", len(f), p.ncols)
		return r
	}
	get := func(name string) string {
		if i, ok := p.col[name]; ok {
			return strings.TrimSpace(f[i])
		}
		return ""
	}
	r.PAN = strings.ToUpper(get("APP_PAN_NO"))
	if why := kyc.CheckPAN(r.PAN, ""); why != "" {
		r.Reason, r.Detail = ReasonBadPAN, why
		return r
	}
	r.Name, r.Remarks = get("APP_NAME"), get("APP_HOLD_DEACTIVE_RMKS")
	if d := get("APP_STATUSDT"); d != "" || p.kind == KindStatus {
		at, err := ParseStatusTime(d)
		if err != nil {
			r.Reason, r.Detail = ReasonBadDate, err.Error()
			return r
		}
		r.At = at
	}
	if p.kind == KindAadhaar {
		switch l := strings.ToUpper(get("PAN_AADHAAR_LINK")); l {
		case "Y", "E":
		case "N":
			r.Inoperative = true
		default:
			r.Reason, r.Detail = ReasonBadLink, fmt.Sprintf("PAN_AADHAAR_LINK %q: want Y (linked), N (not linked) or E (exempt)", l)
		}
		return r
	}
	r.Code = get("APP_STATUS")
	if _, ok := p.col["APP_STATUS"]; !ok {
		r.KRA, r.Code = p.holdingKRA(get)
	}
	if r.KRA == "" {
		r.KRA = strings.ToUpper(get("APP_KRA"))
	}
	if c := strings.TrimLeft(r.Code, "0"); c == kyc.CodeUnreachable {
		r.Reason, r.Detail = ReasonUnreachable, "status 99: the KRA did not answer; the last status stays"
		return r
	}
	st, ok := kyc.StatusOfCode(r.Code)
	if !ok {
		r.Reason, r.Detail = ReasonBadStatus, fmt.Sprintf("status code %q is not a KRA KYC status", r.Code)
		return r
	}
	r.Status = st
	return r
}

// holdingKRA picks, from the per-KRA columns, the KRA that holds the
// record: the first with a code other than 05 and 99; else 05 when one
// said 05; else 99.
func (p *Parser) holdingKRA(get func(string) string) (kra, code string) {
	code = kyc.CodeUnreachable
	for _, k := range kraColumns {
		if _, ok := p.col[k]; !ok {
			continue
		}
		c := get(k)
		switch strings.TrimLeft(c, "0") {
		case "", "99":
		case "5":
			code = c
		default:
			return k, c
		}
	}
	return "", code
}

// ParseStatusTime reads APP_STATUSDT: DD-MM-YYYY or DD/MM/YYYY, optionally
// with HH:MM:SS, in IST.
func ParseStatusTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"02-01-2006 15:04:05", "02-01-2006", "02/01/2006 15:04:05", "02/01/2006"} {
		if t, err := time.ParseInLocation(layout, s, fund.IST()); err == nil {
			if t.Year() < 1990 || t.Year() > 2999 {
				return time.Time{}, fmt.Errorf("APP_STATUSDT %q is not a plausible date", s)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("APP_STATUSDT %q: want DD-MM-YYYY[ HH:MM:SS]", s)
}
