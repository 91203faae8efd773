package kyc

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/fundflow/fundflow/fund"
)

// Status is an investor's KYC status as a KRA reports it, in our words.
type Status string

// KYC statuses.
const (
	Validated            Status = "validated"             // KRA validated (also "KYC verified, Aadhaar as OVD")
	Registered           Status = "registered"            // KYC registered (not yet validated)
	RegisteredIncomplete Status = "registered_incomplete" // an old record missing details
	UnderProcess         Status = "under_process"
	OnHold               Status = "on_hold"
	Rejected             Status = "rejected"
	Deactivated          Status = "deactivated"
	NotAvailable         Status = "not_available" // no KYC with any KRA
)

// KRA status codes of the KRAs' PAN inquiry ("Verify PAN details", IOP1)
// response: the per-KRA status columns and APP_STATUS use the same codes.
// Source: CAMS KRA's sandbox documentation of the response parameters
// (camsonline.gitbook.io/sandbox-for-kra/verify-pan-details-iop1/response-parameters):
// 01 under process, 02 KYC registered, 03 on hold, 04 KYC rejected, 05 not
// available, 06 deactivated, 07 KYC verified (Aadhaar as OVD), 11 under
// process (incomplete, existing record), 12 registered (incomplete,
// existing record), 13 on hold (incomplete, existing record), 22 CVL MF
// KYC, 99 the KRA's service was not reachable. Codes are also accepted
// with a leading zero (CVL writes 002, 007).
var kraCodes = map[string]Status{
	"01": UnderProcess, "02": Registered, "03": OnHold, "04": Rejected, "05": NotAvailable, "06": Deactivated,
	"07": Validated, "11": UnderProcess, "12": RegisteredIncomplete, "13": OnHold, "22": Registered,
}

// CodeUnreachable is the code of a KRA that did not answer: no news, so
// the last good status stays.
const CodeUnreachable = "99"

// StatusOfCode maps a KRA status code to a Status; ok false for an unknown
// code and for 99 (no answer).
func StatusOfCode(code string) (Status, bool) {
	c := strings.TrimSpace(code)
	if len(c) == 3 && c[0] == '0' {
		c = c[1:]
	}
	if len(c) == 1 {
		c = "0" + c
	}
	s, ok := kraCodes[c]
	return s, ok
}

// Public reasons of a KYC hold (order_holds.reason, source kyc).
const (
	ReasonOnHold         = "kyc_on_hold"
	ReasonMissing        = "kyc_missing"
	ReasonRejected       = "kyc_rejected"
	ReasonPANInoperative = "pan_inoperative"
	// ReasonMinorOfAge: a minor's folio once the minor is 18: no
	// transaction until the record is the investor's own (their KYC, PAN
	// and bank account), whatever the guardian's KYC says.
	ReasonMinorOfAge = "minor_attained_majority"
)

// Permission is what a status allows from a date.
type Permission struct {
	Status             Status
	From               fund.Date
	NewFolio           bool
	AdditionalPurchase bool
	Redemption         bool
	Reason             string // public reason when something is blocked
}

// PermissionTable is the effective-dated status → permission table.
type PermissionTable struct {
	rows map[Status][]Permission // by status, From ascending
}

//go:embed data/permissions.csv
var permissionsCSV string

// Permissions is the table shipped in data/permissions.csv.
var Permissions = mustTable(permissionsCSV)

func mustTable(s string) *PermissionTable {
	t, err := ParsePermissions(strings.NewReader(s))
	if err != nil {
		panic(err)
	}
	return t
}

// ParsePermissions reads a table: a header (status, effective_from,
// new_folio, additional_purchase, redemption, reason, in any order), rows
// of Y/N flags; # lines are comments. Every status must have a row from
// its first date on; a row that blocks something needs a reason.
func ParsePermissions(r io.Reader) (*PermissionTable, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("permissions: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, h := range []string{"status", "effective_from", "new_folio", "additional_purchase", "redemption", "reason"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("permissions: no %s column", h)
		}
	}
	t := &PermissionTable{rows: map[Status][]Permission{}}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("permissions: %w", err)
		}
		line, _ := cr.FieldPos(0)
		get := func(h string) string {
			if i := col[h]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		from, err := fund.ParseISODate(get("effective_from"))
		if err != nil {
			return nil, fmt.Errorf("permissions line %d: effective_from: %w", line, err)
		}
		p := Permission{Status: Status(get("status")), From: from, Reason: get("reason")}
		for _, f := range []struct {
			h string
			v *bool
		}{{"new_folio", &p.NewFolio}, {"additional_purchase", &p.AdditionalPurchase}, {"redemption", &p.Redemption}} {
			switch get(f.h) {
			case "Y":
				*f.v = true
			case "N":
			default:
				return nil, fmt.Errorf("permissions line %d: %s %q: want Y or N", line, f.h, get(f.h))
			}
		}
		if (!p.NewFolio || !p.AdditionalPurchase || !p.Redemption) && p.Reason == "" {
			return nil, fmt.Errorf("permissions line %d: %s blocks something and gives no reason", line, p.Status)
		}
		for _, q := range t.rows[p.Status] {
			if q.From == p.From {
				return nil, fmt.Errorf("permissions line %d: %s from %s twice", line, p.Status, p.From)
			}
		}
		t.rows[p.Status] = append(t.rows[p.Status], p)
	}
	for _, rs := range t.rows {
		sort.Slice(rs, func(i, j int) bool { return rs[i].From.Before(rs[j].From) })
	}
	return t, nil
}

// At returns the permission of status s on day: the row with the latest
// effective date on or before day. ok false: the table has no row for s on
// day (an unknown status: treat as not available).
func (t *PermissionTable) At(s Status, day fund.Date) (Permission, bool) {
	var out Permission
	ok := false
	for _, p := range t.rows[s] {
		if p.From.After(day) {
			break
		}
		out, ok = p, true
	}
	return out, ok
}

// Decision is what the KYC gate does with an investor: the restriction to
// hold (Restrict false: none, lift any).
type Decision struct {
	Restrict         bool
	Reason           string // public reason
	Detail           string // internal: the status and the rule
	BlocksPurchase   bool
	BlocksRedemption bool
	BlocksNewFolio   bool // opening a folio (a purchase into one with no allotment yet)
}

// Decide is the gate's rule for an investor whose KYC status is s (empty:
// no KYC record at all) and whose PAN is inoperative or not, on day. An
// inoperative PAN puts KYC on hold whatever the KRA says (a PAN not linked
// to Aadhaar is inoperative: SEBI treats the KYC as on hold), with its own
// public reason. No record is kyc_missing.
func Decide(t *PermissionTable, s Status, panInoperative bool, day fund.Date) Decision {
	if s == "" {
		s = NotAvailable
	}
	p, ok := t.At(s, day)
	if !ok {
		p, _ = t.At(NotAvailable, day)
		p.Reason = ReasonMissing
	}
	if panInoperative {
		h, _ := t.At(OnHold, day)
		// The stricter of the two: a deactivated record stays deactivated.
		p.AdditionalPurchase = p.AdditionalPurchase && h.AdditionalPurchase
		p.Redemption = p.Redemption && h.Redemption
		p.NewFolio = p.NewFolio && h.NewFolio
		p.Reason = ReasonPANInoperative
	}
	d := Decision{BlocksPurchase: !p.AdditionalPurchase, BlocksRedemption: !p.Redemption, BlocksNewFolio: !p.NewFolio}
	d.Restrict = d.BlocksPurchase || d.BlocksRedemption || d.BlocksNewFolio
	if d.Restrict {
		d.Reason = p.Reason
		d.Detail = fmt.Sprintf("kyc status %s (table from %s)", s, p.From)
		if panInoperative {
			d.Detail += "; PAN inoperative (not linked to Aadhaar)"
		}
	}
	return d
}
