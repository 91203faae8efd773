// Package investors is the investor master beside the ledger: the
// platform's onboarding service creates and changes an investor's record
// (POST/PATCH /v1/investors, or the bulk Kafka topic), every change is
// validated whole by fund/kyc, sealed (internal/pii), kept as a new
// effective-dated version, audited and announced on the outbox as
// investors.changed (the contract in notes/events-contract.md), all in one
// Postgres transaction (investors/pgstore). Tables: sql/postgres
// *_investor_master.sql (pre-assigned 027 at the merge).
package investors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/internal/pii"
)

// Topic is the outbox topic of every change.
const Topic = "investors.changed"

// Channels a change arrives by.
const (
	ChannelAPI     = "api"
	ChannelKafka   = "kafka"
	ChannelKRAFeed = "kra_feed"
)

// Outcome says what a request did.
type Outcome string

// Outcomes.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged" // the same record again: nothing stored, no event
)

// Service is the investor master's use cases.
type Service struct {
	Store Store
	PII   *pii.Sealer
	Now   func() time.Time
	Log   *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Store is what the service keeps in Postgres (investors/pgstore).
type Store interface {
	// Current reads the investor's latest version (found false: no record;
	// an investor created by an order alone has none).
	Current(ctx context.Context, id string) (Current, bool, error)
	// Apply stores v in one transaction: the version, the profile, the
	// accounts, the investors row, the audit row and the outbox event. It
	// returns ErrStale when the latest version is no longer v.Seq-1 (a
	// concurrent change won: read and merge again) and ErrPANTaken when
	// another investor has the PAN.
	Apply(ctx context.Context, v Version) error
}

// Current is the latest stored version of a record.
type Current struct {
	Seq           int
	RecordEnc     []byte
	RecordSHA256  string
	EffectiveFrom time.Time
}

// ErrStale says a concurrent change stored a version first.
var ErrStale = errors.New("investors: a concurrent change stored a newer version")

// ErrPANTaken says another investor's record has the PAN.
var ErrPANTaken = errors.New("investors: the PAN is another investor's")

// Error is a refusal: Kind decides the HTTP status, Fields the 422 errors list.
type Error struct {
	Kind   ErrorKind
	Code   string
	Detail string
	Fields kyc.Errors
}

// ErrorKind classifies a refusal.
type ErrorKind int

// Kinds of refusal.
const (
	Malformed ErrorKind = iota // 400: not JSON
	Invalid                    // 422: fields break the rules (Fields lists them)
	Conflict                   // 409: the record exists (POST) or cannot change that way
	NotFound                   // 404
)

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return e.Fields.Error()
	}
	return e.Code + ": " + e.Detail
}

func invalid(fields kyc.Errors) *Error {
	return &Error{Kind: Invalid, Code: "invalid_investor", Detail: "the record breaks the rules: see errors", Fields: fields}
}

// Record is a stored record with its version.
type Record struct {
	Investor      kyc.Investor
	Seq           int
	EffectiveFrom time.Time
}

// Get returns the investor's current record, opened.
func (s *Service) Get(ctx context.Context, id string) (Record, error) {
	cur, found, err := s.Store.Current(ctx, id)
	if err != nil {
		return Record{}, fmt.Errorf("investor %s: %w", id, err)
	}
	if !found {
		return Record{}, &Error{Kind: NotFound, Code: "not_found"}
	}
	inv, err := s.open(id, cur.RecordEnc)
	if err != nil {
		return Record{}, err
	}
	return Record{Investor: inv, Seq: cur.Seq, EffectiveFrom: cur.EffectiveFrom}, nil
}

func (s *Service) open(id string, enc []byte) (kyc.Investor, error) {
	var inv kyc.Investor
	doc, err := s.PII.Open(id, "record", enc)
	if err != nil {
		return inv, err
	}
	if err := json.Unmarshal([]byte(doc), &inv); err != nil {
		return inv, fmt.Errorf("investor %s: stored record: %w", id, err)
	}
	return inv, nil
}

// Create stores a new investor's record from the JSON document body. The
// same record sent again is Unchanged; another record for an investor on
// file is a Conflict (change it with Patch).
func (s *Service) Create(ctx context.Context, body []byte, by, channel string) (Record, Outcome, error) {
	inv, ferr := decode(body)
	if ferr != nil {
		return Record{}, "", ferr
	}
	for attempt := 0; ; attempt++ {
		cur, found, err := s.Store.Current(ctx, inv.ID)
		if err != nil {
			return Record{}, "", fmt.Errorf("investor %s: %w", inv.ID, err)
		}
		var prev *kyc.Investor
		if found {
			p, err := s.open(inv.ID, cur.RecordEnc)
			if err != nil {
				return Record{}, "", err
			}
			prev = &p
		}
		rec, out, err := s.change(ctx, inv, prev, cur, by, channel, true)
		if errors.Is(err, ErrStale) && attempt < 20 {
			continue
		}
		return rec, out, err
	}
}

// Patch applies a JSON merge patch (RFC 7386) to the investor's current
// record and stores the result, validated whole.
func (s *Service) Patch(ctx context.Context, id string, patch []byte, by, channel string) (Record, Outcome, error) {
	var p any
	if err := unmarshalNumbers(patch, &p); err != nil {
		return Record{}, "", &Error{Kind: Malformed, Code: "bad_request", Detail: "the body is not JSON: " + err.Error()}
	}
	if _, ok := p.(map[string]any); !ok {
		return Record{}, "", &Error{Kind: Malformed, Code: "bad_request", Detail: "a merge patch is a JSON object"}
	}
	for attempt := 0; ; attempt++ {
		cur, found, err := s.Store.Current(ctx, id)
		if err != nil {
			return Record{}, "", fmt.Errorf("investor %s: %w", id, err)
		}
		if !found {
			return Record{}, "", &Error{Kind: NotFound, Code: "not_found"}
		}
		prev, err := s.open(id, cur.RecordEnc)
		if err != nil {
			return Record{}, "", err
		}
		pb, _ := json.Marshal(prev)
		var doc any
		if err := unmarshalNumbers(pb, &doc); err != nil {
			return Record{}, "", err
		}
		merged, _ := json.Marshal(MergePatch(doc, p))
		inv, ferr := decode(merged)
		if ferr != nil {
			return Record{}, "", ferr
		}
		if inv.ID != id {
			return Record{}, "", invalid(kyc.Errors{{Field: "investor_id", Reason: "an investor's id cannot change"}})
		}
		rec, out, err := s.change(ctx, inv, &prev, cur, by, channel, false)
		if errors.Is(err, ErrStale) && attempt < 20 {
			continue
		}
		return rec, out, err
	}
}

// change validates inv and stores it as the version after cur. A create
// (POST) of a record on file that differs is a Conflict: POST never
// silently overwrites.
func (s *Service) change(ctx context.Context, inv kyc.Investor, prev *kyc.Investor, cur Current, by, channel string, create bool) (Record, Outcome, error) {
	now := s.now().UTC()
	if fe := inv.Validate(kyc.TodayIST(now)); fe != nil {
		return Record{}, "", invalid(fe)
	}
	inv.Mobile, _ = kyc.NormaliseMobile(inv.Mobile) // valid: E.164, so one number has one form (and one fingerprint)
	canon, err := json.Marshal(inv)
	if err != nil {
		return Record{}, "", err
	}
	sum := sha256.Sum256(canon)
	sha := hex.EncodeToString(sum[:])
	if prev != nil && sha == cur.RecordSHA256 {
		return Record{Investor: *prev, Seq: cur.Seq, EffectiveFrom: cur.EffectiveFrom}, Unchanged, nil
	}
	if prev != nil && create {
		return Record{}, "", &Error{Kind: Conflict, Code: "investor_exists", Detail: fmt.Sprintf("investor %s is on file: change it with PATCH /v1/investors/%s", inv.ID, inv.ID)}
	}
	fields := Touched(prev, &inv)
	if len(fields) == 0 {
		return Record{Investor: *prev, Seq: cur.Seq, EffectiveFrom: cur.EffectiveFrom}, Unchanged, nil
	}
	v, err := s.version(inv, canon, sha, cur.Seq+1, fields, now, by, channel)
	if err != nil {
		return Record{}, "", err
	}
	if err := s.Store.Apply(ctx, v); err != nil {
		if errors.Is(err, ErrPANTaken) {
			return Record{}, "", invalid(kyc.Errors{{Field: "pan", Reason: "already on file for another investor"}})
		}
		return Record{}, "", err
	}
	out := Updated
	if prev == nil {
		out = Created
	}
	s.log().Info("investor changed", "investor", inv.ID, "seq", v.Seq, "fields", fields, "channel", channel)
	return Record{Investor: inv, Seq: v.Seq, EffectiveFrom: now}, out, nil
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// decode reads a record document: unknown fields and wrong types are
// field errors (422), a body that is not JSON is Malformed (400).
func decode(body []byte) (kyc.Investor, *Error) {
	var inv kyc.Investor
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	err := dec.Decode(&inv)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		if dec.More() {
			return inv, &Error{Kind: Malformed, Code: "bad_request", Detail: "one JSON object, nothing after it"}
		}
	case errors.As(err, &syn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return inv, &Error{Kind: Malformed, Code: "bad_request", Detail: "the body is not JSON: " + err.Error()}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return inv, invalid(kyc.Errors{{Field: field, Reason: fmt.Sprintf("want a %s, got a JSON %s", typ.Type, typ.Value)}})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return inv, invalid(kyc.Errors{{Field: fund.SafeText(f), Reason: "unknown field"}})
	default:
		// A value's own decoder refused it (a share that is not a number).
		return inv, invalid(kyc.Errors{{Field: "body", Reason: fund.SafeText(err.Error())}})
	}
	inv.Normalise()
	return inv, nil
}

func unmarshalNumbers(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("one JSON value, nothing after it")
	}
	return nil
}

// MergePatch applies an RFC 7386 merge patch to doc: an object merges key
// by key, null deletes, anything else replaces (arrays whole).
func MergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	out := make(map[string]any, len(d))
	for k, v := range d {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = MergePatch(out[k], v)
	}
	return out
}

// The change fields of investors.changed and the record keys each covers.
var fieldKeys = []struct {
	field string
	of    func(*kyc.Investor) any
}{
	{"address", func(i *kyc.Investor) any { return i.Address }},
	{"bank_account", func(i *kyc.Investor) any { return i.BankAccounts }},
	{"dob", func(i *kyc.Investor) any { return i.DOB }},
	{"email", func(i *kyc.Investor) any { return i.Email }},
	{"fatca", func(i *kyc.Investor) any { return i.FATCA }},
	{"guardian", func(i *kyc.Investor) any { return i.Guardian }},
	{"mobile", func(i *kyc.Investor) any { return i.Mobile }},
	{"name", func(i *kyc.Investor) any { return i.Name }},
	{"nominee", func(i *kyc.Investor) any { return []any{i.Nominees, i.NominationOptOut} }},
	{"pan", func(i *kyc.Investor) any { return i.PAN }},
	{"tax_status", func(i *kyc.Investor) any { return i.TaxStatus }},
}

// Touched lists the change fields whose values differ between prev (nil:
// a new record, every field it has) and next, sorted.
func Touched(prev, next *kyc.Investor) []string {
	var out []string
	for _, f := range fieldKeys {
		nb, _ := json.Marshal(f.of(next))
		if prev == nil {
			if !empty(nb) {
				out = append(out, f.field)
			}
			continue
		}
		if pb, _ := json.Marshal(f.of(prev)); string(pb) != string(nb) {
			out = append(out, f.field)
		}
	}
	return out
}

func empty(b []byte) bool {
	switch string(b) {
	case `""`, "null", "[]", "{}", `[null,false]`, `[[],false]`:
		return true
	}
	return false
}

// Version is one change, ready to store: everything sealed or
// fingerprinted, the event and the audit payload built.
type Version struct {
	InvestorID    string
	Seq           int
	EffectiveFrom time.Time
	Channel, By   string
	Fields        []string
	RecordEnc     []byte
	RecordSHA256  string
	Profile       Profile
	Row           Row
	Accounts      []Account
	Event         Event
}

// Profile is investor_profiles: the record's facts that are not PII.
type Profile struct {
	TaxStatus           kyc.TaxStatus
	PANFingerprint      string
	GuardianPANFP       string
	MajorityOn          *fund.Date
	Nomination          string // nominated, opted_out, not_applicable
	NomineeCount        int
	FATCADeclared       bool
	ForeignTaxResidency bool
}

// Row is the investors row (003) the rest of the platform reads.
type Row struct {
	Name, Email, Phone, Address, TaxCountry string
	PANEnc, BankAccountEnc                  []byte // nil: none
}

// Account is one investor_bank_accounts row of the current record.
type Account struct {
	Fingerprint, IFSC, Mask, HolderName, Type string
	Enc                                       []byte
	Default                                   bool
}

// Event is the investors.changed payload (notes/events-contract.md):
// every key always present.
type Event struct {
	EventID       string            `json:"event_id"`
	InvestorID    string            `json:"investor_id"`
	ChangeSeq     int               `json:"change_seq"`
	Fields        []string          `json:"fields"`
	Fingerprints  map[string]string `json:"fingerprints"`
	KYCStatus     string            `json:"kyc_status"`
	Channel       string            `json:"channel"`
	EffectiveFrom string            `json:"effective_from"`
	At            string            `json:"at"`
}

// EventID is the deterministic id of an investor's change seq.
func EventID(investorID string, seq int) string {
	return fmt.Sprintf("%s:%s:%d", Topic, investorID, seq)
}

func (s *Service) version(inv kyc.Investor, canon []byte, sha string, seq int, fields []string, now time.Time, by, channel string) (Version, error) {
	id := inv.ID
	v := Version{InvestorID: id, Seq: seq, EffectiveFrom: now, Channel: channel, By: by, Fields: fields, RecordSHA256: sha}
	var err error
	if v.RecordEnc, err = s.PII.Seal(id, "record", string(canon)); err != nil {
		return v, err
	}
	p := Profile{TaxStatus: inv.TaxStatus, Nomination: "not_applicable", NomineeCount: len(inv.Nominees), FATCADeclared: inv.FATCA != nil}
	if inv.PAN != "" {
		p.PANFingerprint = s.PII.Fingerprint("pan", inv.PAN)
	}
	if inv.Guardian != nil {
		p.GuardianPANFP = s.PII.Fingerprint("pan", inv.Guardian.PAN)
	}
	if inv.TaxStatus == kyc.Minor {
		dob, _ := fund.ParseISODate(inv.DOB) // validated
		m := kyc.MajorityDate(dob)
		p.MajorityOn = &m
	}
	switch {
	case len(inv.Nominees) > 0:
		p.Nomination = "nominated"
	case inv.NominationOptOut:
		p.Nomination = "opted_out"
	}
	row := Row{Name: inv.Name, Email: inv.Email, Phone: inv.Mobile, Address: oneLine(inv.Address), TaxCountry: "IN"}
	if f := inv.FATCA; f != nil {
		for _, r := range f.TaxResidencies {
			if r.Country != "IN" {
				p.ForeignTaxResidency = true
				if row.TaxCountry == "IN" {
					row.TaxCountry = r.Country // the first foreign residency: what the FATCA/CRS export reports
				}
			}
		}
	}
	if inv.PAN != "" {
		if row.PANEnc, err = s.PII.Seal(id, "pan", inv.PAN); err != nil {
			return v, err
		}
	}
	fps := map[string]string{}
	for _, b := range inv.BankAccounts {
		a := Account{Fingerprint: s.PII.Fingerprint("bank_account", b.IFSC+":"+b.AccountNo), IFSC: b.IFSC, Mask: pii.Mask(b.AccountNo),
			HolderName: b.HolderName, Type: b.Type, Default: b.Default}
		if a.Enc, err = s.PII.Seal(id, "bank_account", b.AccountNo); err != nil {
			return v, err
		}
		if b.Default {
			row.BankAccountEnc = a.Enc
			if slices.Contains(fields, "bank_account") {
				fps["bank_account"] = a.Fingerprint // the default account: where payouts go
			}
		}
		v.Accounts = append(v.Accounts, a)
	}
	if slices.Contains(fields, "mobile") {
		fps["mobile"] = s.PII.Fingerprint("mobile", inv.Mobile)
	}
	if slices.Contains(fields, "email") {
		fps["email"] = s.PII.Fingerprint("email", inv.Email)
	}
	v.Profile, v.Row = p, row
	v.Event = Event{EventID: EventID(id, seq), InvestorID: id, ChangeSeq: seq, Fields: fields, Fingerprints: fps, Channel: channel,
		EffectiveFrom: now.Format(time.RFC3339), At: now.Format("2006-01-02T15:04:05.000Z07:00")}
	return v, nil
}

func oneLine(a kyc.Address) string {
	var parts []string
	for _, s := range []string{a.Line1, a.Line2, a.City, a.State, a.Pincode, a.Country} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}
