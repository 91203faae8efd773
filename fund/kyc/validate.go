package kyc

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// TaxStatus is the investor's tax status, which decides the PAN holder
// type, whether a date of birth is a birth or a formation date, whether a
// guardian is needed and whether a nomination is possible.
type TaxStatus string

// Tax statuses.
const (
	ResidentIndividual TaxStatus = "resident_individual"
	NRI                TaxStatus = "nri"
	HUF                TaxStatus = "huf"
	Minor              TaxStatus = "minor" // a minor investing through a guardian
	NonIndividual      TaxStatus = "non_individual"
)

// TaxStatuses lists the valid tax statuses.
var TaxStatuses = []TaxStatus{ResidentIndividual, NRI, HUF, Minor, NonIndividual}

// Individual reports whether the investor is a natural person.
func (t TaxStatus) Individual() bool { return t == ResidentIndividual || t == NRI || t == Minor }

// The 4th character of a PAN is the holder type (Income Tax Department):
// P person, H HUF, C company, F firm, E LLP, A association of persons,
// T trust, B body of individuals, L local authority, J artificial
// juridical person, G government.
var panHolderTypes = map[TaxStatus]string{
	ResidentIndividual: "P",
	NRI:                "P",
	Minor:              "P",
	HUF:                "H",
	NonIndividual:      "CFEATBLJG",
}

// Investor is the investor's record as the onboarding service sends it (the
// JSON document of POST /v1/investors, and the result of applying a PATCH).
type Investor struct {
	ID               string        `json:"investor_id"`
	Name             string        `json:"name"`
	PAN              string        `json:"pan"`
	DOB              string        `json:"dob"` // YYYY-MM-DD; for HUF and non-individuals the date of formation
	TaxStatus        TaxStatus     `json:"tax_status"`
	Email            string        `json:"email"`
	Mobile           string        `json:"mobile"`
	Address          Address       `json:"address"`
	Guardian         *Guardian     `json:"guardian,omitempty"`
	BankAccounts     []BankAccount `json:"bank_accounts"`
	Nominees         []Nominee     `json:"nominees"`
	NominationOptOut bool          `json:"nomination_opt_out"`
	FATCA            *FATCA        `json:"fatca,omitempty"`
}

// Address is a postal address.
type Address struct {
	Line1   string `json:"line1"`
	Line2   string `json:"line2,omitempty"`
	City    string `json:"city"`
	State   string `json:"state,omitempty"`
	Pincode string `json:"pincode"`
	Country string `json:"country"` // ISO 3166-1 alpha-2
}

// Guardian acts for a minor.
type Guardian struct {
	Name         string `json:"name"`
	PAN          string `json:"pan"`
	Relationship string `json:"relationship"` // father, mother, court_appointed
}

// BankAccount is an account payouts may go to.
type BankAccount struct {
	AccountNo  string `json:"account_no"`
	IFSC       string `json:"ifsc"`
	HolderName string `json:"holder_name"`
	Type       string `json:"type"` // savings, current, nre, nro
	Default    bool   `json:"default"`
}

// Nominee receives a share of the holdings on the investor's death.
type Nominee struct {
	Name         string          `json:"name"`
	Relationship string          `json:"relationship"`
	Share        decimal.Decimal `json:"share"` // percent, up to 2 decimals
	DOB          string          `json:"dob,omitempty"`
	GuardianName string          `json:"guardian_name,omitempty"` // needed when the nominee is a minor
}

// FATCA is the FATCA/CRS self-declaration.
type FATCA struct {
	BirthCountry   string         `json:"birth_country"`
	BirthPlace     string         `json:"birth_place,omitempty"`
	Citizenship    string         `json:"citizenship"`
	TaxResidencies []TaxResidency `json:"tax_residencies"`
}

// TaxResidency is one country the investor is tax resident in.
type TaxResidency struct {
	Country string `json:"country"`
	TIN     string `json:"tin"`
}

// FieldError names the field (a path into the JSON document) and why it is
// refused.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// Errors is the list of every field error of one document.
type Errors []FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return "invalid investor: " + strings.Join(parts, "; ")
}

type errs struct{ list Errors }

func (e *errs) add(field, format string, args ...any) {
	e.list = append(e.list, FieldError{Field: field, Reason: fund.SafeText(fmt.Sprintf(format, args...))})
}

// Limits of the record.
const (
	MaxNominees  = 10 // SEBI allows up to ten nominees per folio
	MaxAccounts  = 5
	MaxResidency = 10
	maxText      = 200
)

// Normalise trims every text and upper-cases the codes (PAN, IFSC,
// countries), so "abcpe1234f " is the PAN ABCPE1234F. Validate expects a
// normalised record.
func (inv *Investor) Normalise() {
	t := strings.TrimSpace
	u := func(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
	inv.ID, inv.Name, inv.PAN, inv.DOB = t(inv.ID), t(inv.Name), u(inv.PAN), t(inv.DOB)
	inv.TaxStatus = TaxStatus(strings.ToLower(t(string(inv.TaxStatus))))
	inv.Email, inv.Mobile = t(inv.Email), t(inv.Mobile)
	a := &inv.Address
	a.Line1, a.Line2, a.City, a.State, a.Pincode, a.Country = t(a.Line1), t(a.Line2), t(a.City), t(a.State), t(a.Pincode), u(a.Country)
	if g := inv.Guardian; g != nil {
		g.Name, g.PAN, g.Relationship = t(g.Name), u(g.PAN), strings.ToLower(t(g.Relationship))
	}
	for i := range inv.BankAccounts {
		b := &inv.BankAccounts[i]
		b.AccountNo, b.IFSC, b.HolderName, b.Type = t(b.AccountNo), u(b.IFSC), t(b.HolderName), strings.ToLower(t(b.Type))
	}
	for i := range inv.Nominees {
		n := &inv.Nominees[i]
		n.Name, n.Relationship, n.DOB, n.GuardianName = t(n.Name), strings.ToLower(t(n.Relationship)), t(n.DOB), t(n.GuardianName)
	}
	if f := inv.FATCA; f != nil {
		f.BirthCountry, f.BirthPlace, f.Citizenship = u(f.BirthCountry), t(f.BirthPlace), u(f.Citizenship)
		for i := range f.TaxResidencies {
			r := &f.TaxResidencies[i]
			r.Country, r.TIN = u(r.Country), u(r.TIN)
		}
	}
}

// Validate checks a normalised record as of today (the civil date in IST of
// the request) and returns every field error, or nil.
func (inv *Investor) Validate(today fund.Date) Errors {
	e := &errs{}
	for field, v := range inv.texts() {
		if s := fund.CheckText(field, v); s != nil {
			e.add(field, "%s", s.Detail)
		}
	}
	if len(e.list) > 0 {
		sortErrors(e.list)
		return e.list // nothing else is meaningful on text that cannot be stored
	}
	if !validID(inv.ID) {
		e.add("investor_id", "want 1 to 64 of A-Z a-z 0-9 . _ : -")
	}
	requireText(e, "name", inv.Name)
	ts := inv.TaxStatus
	known := false
	for _, s := range TaxStatuses {
		known = known || s == ts
	}
	if !known {
		e.add("tax_status", "%q is not one of resident_individual, nri, huf, minor, non_individual", ts)
		ts = ""
	}
	switch {
	case inv.PAN == "" && ts == Minor:
		// A minor's own PAN is optional: the guardian's PAN carries the KYC.
	case inv.PAN == "":
		e.add("pan", "required")
	default:
		if r := CheckPAN(inv.PAN, ts); r != "" {
			e.add("pan", "%s", r)
		}
	}
	inv.checkDOB(e, ts, today)
	if inv.Email == "" {
		e.add("email", "required")
	} else if r := CheckEmail(inv.Email); r != "" {
		e.add("email", "%s", r)
	}
	if inv.Mobile == "" {
		e.add("mobile", "required")
	} else if _, r := NormaliseMobile(inv.Mobile); r != "" {
		e.add("mobile", "%s", r)
	}
	checkAddress(e, inv.Address)
	inv.checkBanks(e, ts)
	inv.checkNominees(e, ts, today)
	checkFATCA(e, inv.FATCA, ts)
	sortErrors(e.list)
	if len(e.list) == 0 {
		return nil
	}
	return e.list
}

// texts lists every string of the record with its field path.
func (inv *Investor) texts() map[string]string {
	m := map[string]string{
		"investor_id": inv.ID, "name": inv.Name, "pan": inv.PAN, "dob": inv.DOB, "tax_status": string(inv.TaxStatus),
		"email": inv.Email, "mobile": inv.Mobile, "address.line1": inv.Address.Line1, "address.line2": inv.Address.Line2,
		"address.city": inv.Address.City, "address.state": inv.Address.State, "address.pincode": inv.Address.Pincode,
		"address.country": inv.Address.Country,
	}
	if g := inv.Guardian; g != nil {
		m["guardian.name"], m["guardian.pan"], m["guardian.relationship"] = g.Name, g.PAN, g.Relationship
	}
	for i, b := range inv.BankAccounts {
		p := fmt.Sprintf("bank_accounts[%d].", i)
		m[p+"account_no"], m[p+"ifsc"], m[p+"holder_name"], m[p+"type"] = b.AccountNo, b.IFSC, b.HolderName, b.Type
	}
	for i, n := range inv.Nominees {
		p := fmt.Sprintf("nominees[%d].", i)
		m[p+"name"], m[p+"relationship"], m[p+"dob"], m[p+"guardian_name"] = n.Name, n.Relationship, n.DOB, n.GuardianName
	}
	if f := inv.FATCA; f != nil {
		m["fatca.birth_country"], m["fatca.birth_place"], m["fatca.citizenship"] = f.BirthCountry, f.BirthPlace, f.Citizenship
		for i, r := range f.TaxResidencies {
			p := fmt.Sprintf("fatca.tax_residencies[%d].", i)
			m[p+"country"], m[p+"tin"] = r.Country, r.TIN
		}
	}
	return m
}

// sortErrors orders errors by field so the answer is stable.
func sortErrors(l Errors) {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Field < l[j].Field })
}

func requireText(e *errs, field, v string) {
	switch {
	case v == "":
		e.add(field, "required")
	case utf8.RuneCountInString(v) > maxText:
		e.add(field, "longer than %d characters", maxText)
	}
}

func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isUpper(c) || c >= 'a' && c <= 'z' || isDigit(c) || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// CheckPAN returns why pan is not a valid PAN for a holder of tax status ts
// ("" when it is). A PAN is five letters, four digits and a letter; its 4th
// letter is the holder type. An empty ts checks the format only.
func CheckPAN(pan string, ts TaxStatus) string {
	if len(pan) != 10 {
		return fmt.Sprintf("%q: want 10 characters: five letters, four digits, one letter (ABCPE1234F)", pan)
	}
	for i := 0; i < 10; i++ {
		c := pan[i]
		if (i < 5 || i == 9) && !isUpper(c) || i >= 5 && i < 9 && !isDigit(c) {
			return fmt.Sprintf("%q: want five letters, four digits, one letter (ABCPE1234F)", pan)
		}
	}
	if ts == "" {
		return ""
	}
	if want := panHolderTypes[ts]; !strings.ContainsRune(want, rune(pan[3])) {
		return fmt.Sprintf("the 4th letter %q is the holder type; a %s's PAN has %s there", pan[3], ts, orList(want))
	}
	return ""
}

func orList(letters string) string {
	parts := make([]string, len(letters))
	for i := range letters {
		parts[i] = string(letters[i])
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// CheckIFSC returns why s is not an IFSC ("" when it is): four letters (the
// bank), a zero (reserved), six letters or digits (the branch).
func CheckIFSC(s string) string {
	if len(s) != 11 {
		return fmt.Sprintf("%q: want 11 characters: 4 letters, 0, 6 letters or digits (HDFC0001234)", s)
	}
	for i := 0; i < 11; i++ {
		c := s[i]
		ok := i < 4 && isUpper(c) || i == 4 && c == '0' || i > 4 && (isUpper(c) || isDigit(c))
		if !ok {
			return fmt.Sprintf("%q: want 4 letters, 0, 6 letters or digits (HDFC0001234)", s)
		}
	}
	return ""
}

// CheckEmail returns why s is not a plausible address ("" when it is): one
// @, a local part of 1 to 64 printable characters without spaces, a domain
// of dot-separated labels of letters, digits and hyphens with at least two
// labels and an alphabetic top-level label; 254 characters at most.
func CheckEmail(s string) string {
	bad := func(why string) string { return fmt.Sprintf("%q: %s", s, why) }
	if len(s) > 254 {
		return bad("longer than 254 characters")
	}
	at := strings.IndexByte(s, '@')
	if at < 0 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return bad("want exactly one @")
	}
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > 64 {
		return bad("the part before @ must be 1 to 64 characters")
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),:;<>[\]`, c) >= 0 {
			return bad("the part before @ has a space or a character not allowed")
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return bad("the part before @ has a misplaced dot")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return bad("the domain needs a dot (example.com)")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad("the domain has an empty or malformed label")
		}
		for i := 0; i < len(l); i++ {
			if c := l[i] | 0x20; !(c >= 'a' && c <= 'z' || isDigit(l[i]) || l[i] == '-') {
				return bad("the domain has a character other than letters, digits, hyphens and dots")
			}
		}
	}
	tld := labels[len(labels)-1]
	for i := 0; i < len(tld); i++ {
		if isDigit(tld[i]) || tld[i] == '-' {
			return bad("the top-level domain must be letters")
		}
	}
	return ""
}

// NormaliseMobile returns the number in E.164 (+919876543210), or why it
// is not a mobile number. Indian numbers may be written as 10 digits
// starting 6-9, with 0, 91 or +91 before them; others as + country code and
// 7 to 14 more digits. Spaces, hyphens and brackets are ignored.
func NormaliseMobile(s string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			b.WriteByte(c)
		case c == '+' && b.Len() == 0 && i == strings.IndexByte(s, '+'):
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '(' || c == ')':
		default:
			return "", fmt.Sprintf("%q: only digits, an optional leading +, spaces, hyphens and brackets", s)
		}
	}
	d := b.String()
	india := func(ten string) (string, string) {
		if len(ten) != 10 || ten[0] < '6' {
			return "", fmt.Sprintf("%q: an Indian mobile number has 10 digits starting with 6, 7, 8 or 9", s)
		}
		return "+91" + ten, ""
	}
	switch {
	case strings.HasPrefix(d, "+91"):
		return india(d[3:])
	case strings.HasPrefix(d, "+"):
		if len(d) < 9 || len(d) > 16 || d[1] == '0' {
			return "", fmt.Sprintf("%q: an international number is + country code and 8 to 15 digits in all", s)
		}
		return d, ""
	case len(d) == 12 && strings.HasPrefix(d, "91"):
		return india(d[2:])
	case len(d) == 11 && d[0] == '0':
		return india(d[1:])
	default:
		return india(d)
	}
}

// MajorityDate is the day a person born on dob attains majority: the 18th
// birthday. Someone born on 29 February attains it on 1 March when the 18th
// year is not a leap year: only then are 18 full years complete (28 February
// is still within the 18th year). time.Date's normalisation of 29 February
// gives exactly that.
func MajorityDate(dob fund.Date) fund.Date { return fund.NewDate(dob.Year+18, dob.Month, dob.Day) }

// IsMinor reports whether a person born on dob is a minor on day.
func IsMinor(dob, day fund.Date) bool { return day.Before(MajorityDate(dob)) }

func (inv *Investor) checkDOB(e *errs, ts TaxStatus, today fund.Date) {
	if inv.DOB == "" {
		e.add("dob", "required")
		return
	}
	dob, err := fund.ParseISODate(inv.DOB)
	if err != nil || dob.String() != inv.DOB {
		e.add("dob", "%q: want YYYY-MM-DD", inv.DOB)
		return
	}
	if dob.After(today) {
		e.add("dob", "%s is in the future", dob)
		return
	}
	if dob.Year < 1900 {
		e.add("dob", "%s is before 1900", dob)
		return
	}
	switch ts {
	case Minor:
		if !IsMinor(dob, today) {
			e.add("dob", "born %s: attained majority on %s, so the tax status cannot be minor", dob, MajorityDate(dob))
		}
		if g := inv.Guardian; g == nil {
			e.add("guardian", "a minor needs a guardian")
		} else {
			requireText(e, "guardian.name", g.Name)
			switch g.Relationship {
			case "father", "mother", "court_appointed":
			default:
				e.add("guardian.relationship", "%q: want father, mother or court_appointed", g.Relationship)
			}
			if g.PAN == "" {
				e.add("guardian.pan", "required: the guardian's PAN carries a minor's KYC")
			} else if r := CheckPAN(g.PAN, ResidentIndividual); r != "" {
				e.add("guardian.pan", "%s", r)
			} else if g.PAN == inv.PAN {
				e.add("guardian.pan", "the guardian's PAN is the minor's own")
			}
		}
	case ResidentIndividual, NRI:
		if IsMinor(dob, today) {
			e.add("dob", "born %s: a minor until %s; use tax status minor with a guardian", dob, MajorityDate(dob))
		}
	}
	if ts != Minor && inv.Guardian != nil {
		e.add("guardian", "only a minor has a guardian")
	}
}

func checkAddress(e *errs, a Address) {
	requireText(e, "address.line1", a.Line1)
	requireText(e, "address.city", a.City)
	if !isCountry(a.Country) {
		e.add("address.country", "%q: want an ISO 3166 two-letter code (IN)", a.Country)
		return
	}
	if a.Country == "IN" {
		if len(a.Pincode) != 6 || a.Pincode[0] == '0' || strings.Trim(a.Pincode, "0123456789") != "" {
			e.add("address.pincode", "%q: an Indian PIN code is 6 digits not starting with 0", a.Pincode)
		}
	} else if len(a.Pincode) > 12 {
		e.add("address.pincode", "longer than 12 characters")
	}
}

func isCountry(s string) bool { return len(s) == 2 && isUpper(s[0]) && isUpper(s[1]) }

func (inv *Investor) checkBanks(e *errs, ts TaxStatus) {
	if len(inv.BankAccounts) == 0 {
		e.add("bank_accounts", "at least one account is required (payouts go to the default one)")
		return
	}
	if len(inv.BankAccounts) > MaxAccounts {
		e.add("bank_accounts", "%d accounts: at most %d", len(inv.BankAccounts), MaxAccounts)
	}
	defaults := 0
	seen := map[string]int{}
	for i, b := range inv.BankAccounts {
		p := fmt.Sprintf("bank_accounts[%d].", i)
		if n := len(b.AccountNo); n < 9 || n > 18 || strings.Trim(b.AccountNo, "0123456789") != "" {
			e.add(p+"account_no", "want 9 to 18 digits")
		}
		if r := CheckIFSC(b.IFSC); r != "" {
			e.add(p+"ifsc", "%s", r)
		}
		requireText(e, p+"holder_name", b.HolderName)
		switch b.Type {
		case "savings", "current":
		case "nre", "nro":
			if ts != NRI && ts != "" {
				e.add(p+"type", "%s accounts are for NRIs", b.Type)
			}
		default:
			e.add(p+"type", "%q: want savings, current, nre or nro", b.Type)
		}
		if b.Default {
			defaults++
		}
		k := b.IFSC + ":" + b.AccountNo
		if j, dup := seen[k]; dup {
			e.add(p+"account_no", "the same account as bank_accounts[%d]", j)
		} else {
			seen[k] = i
		}
	}
	if defaults != 1 {
		e.add("bank_accounts", "exactly one account must be the default for payouts, found %d", defaults)
	}
}

var hundred = decimal.NewFromInt(100)

func (inv *Investor) checkNominees(e *errs, ts TaxStatus, today fund.Date) {
	if ts == HUF || ts == NonIndividual || ts == Minor {
		// SEBI: no nomination on a folio of a minor, an HUF or a non-individual.
		if len(inv.Nominees) > 0 {
			e.add("nominees", "a %s cannot nominate", ts)
		}
		if inv.NominationOptOut {
			e.add("nomination_opt_out", "a %s cannot nominate, so there is nothing to opt out of", ts)
		}
		return
	}
	if inv.NominationOptOut {
		if len(inv.Nominees) > 0 {
			e.add("nomination_opt_out", "an opt-out declaration with %d nominees: choose one", len(inv.Nominees))
		}
		return
	}
	if len(inv.Nominees) == 0 {
		e.add("nominees", "nominees with shares summing to 100, or nomination_opt_out: true")
		return
	}
	if len(inv.Nominees) > MaxNominees {
		e.add("nominees", "%d nominees: at most %d", len(inv.Nominees), MaxNominees)
	}
	sum := decimal.Zero
	for i, n := range inv.Nominees {
		p := fmt.Sprintf("nominees[%d].", i)
		requireText(e, p+"name", n.Name)
		requireText(e, p+"relationship", n.Relationship)
		switch {
		case n.Share.Sign() <= 0:
			e.add(p+"share", "%s: a share is a positive percentage", n.Share)
		case n.Share.GreaterThan(hundred):
			e.add(p+"share", "%s: more than 100", n.Share)
		case !n.Share.Equal(n.Share.Truncate(2)):
			e.add(p+"share", "%s: at most 2 decimals", n.Share)
		}
		sum = sum.Add(n.Share)
		if n.DOB == "" {
			continue
		}
		dob, err := fund.ParseISODate(n.DOB)
		switch {
		case err != nil || dob.String() != n.DOB:
			e.add(p+"dob", "%q: want YYYY-MM-DD", n.DOB)
		case dob.After(today):
			e.add(p+"dob", "%s is in the future", dob)
		case IsMinor(dob, today) && n.GuardianName == "":
			e.add(p+"guardian_name", "the nominee is a minor until %s: a guardian is required", MajorityDate(dob))
		}
	}
	if !sum.Equal(hundred) {
		e.add("nominees", "shares sum to %s, want 100", sum)
	}
}

func checkFATCA(e *errs, f *FATCA, ts TaxStatus) {
	if f == nil {
		e.add("fatca", "the FATCA/CRS self-declaration is required")
		return
	}
	if !isCountry(f.BirthCountry) {
		e.add("fatca.birth_country", "%q: want an ISO 3166 two-letter code", f.BirthCountry)
	}
	if !isCountry(f.Citizenship) {
		e.add("fatca.citizenship", "%q: want an ISO 3166 two-letter code", f.Citizenship)
	}
	if len(f.TaxResidencies) == 0 {
		e.add("fatca.tax_residencies", "at least one country of tax residence (IN for India)")
		return
	}
	if len(f.TaxResidencies) > MaxResidency {
		e.add("fatca.tax_residencies", "%d countries: at most %d", len(f.TaxResidencies), MaxResidency)
	}
	seen := map[string]int{}
	foreign := false
	for i, r := range f.TaxResidencies {
		p := fmt.Sprintf("fatca.tax_residencies[%d].", i)
		if !isCountry(r.Country) {
			e.add(p+"country", "%q: want an ISO 3166 two-letter code", r.Country)
			continue
		}
		if j, dup := seen[r.Country]; dup {
			e.add(p+"country", "%s is already fatca.tax_residencies[%d]", r.Country, j)
		}
		seen[r.Country] = i
		if r.Country == "IN" {
			continue // the PAN is India's TIN
		}
		foreign = true
		if r.TIN == "" {
			e.add(p+"tin", "required for a foreign tax residency (%s)", r.Country)
		} else if !validTIN(r.TIN) {
			e.add(p+"tin", "want 1 to 30 letters, digits, hyphens or slashes")
		}
	}
	if ts == NRI && !foreign {
		e.add("fatca.tax_residencies", "an NRI declares the foreign country of tax residence")
	}
}

func validTIN(s string) bool {
	if s == "" || len(s) > 30 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isUpper(c) || isDigit(c) || c == '-' || c == '/') {
			return false
		}
	}
	return true
}

// TodayIST is the civil date in India of t: the day age and majority are
// counted on.
func TodayIST(t time.Time) fund.Date { return fund.DateOf(t.In(fund.IST())) }
