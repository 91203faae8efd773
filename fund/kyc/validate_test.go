package kyc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

func TestCheckPAN(t *testing.T) {
	for _, c := range []struct {
		pan string
		ts  TaxStatus
		ok  bool
	}{
		{"ABCPE1234F", ResidentIndividual, true},
		{"ABCPE1234F", NRI, true},
		{"ABCPE1234F", Minor, true},
		{"ABCHE1234F", HUF, true},
		{"ABCPE1234F", HUF, false}, // P is a person, not an HUF
		{"ABCHE1234F", ResidentIndividual, false},
		{"ABCCE1234F", NonIndividual, true}, // company
		{"ABCFE1234F", NonIndividual, true}, // firm
		{"ABCTE1234F", NonIndividual, true}, // trust
		{"ABCGE1234F", NonIndividual, true}, // government
		{"ABCPE1234F", NonIndividual, false},
		{"ABCXE1234F", "", true}, // format only
		{"ABCXE1234F", ResidentIndividual, false},
		{"ABCP1E234F", ResidentIndividual, false}, // digit in the 5th place
		{"ABCPE12345", ResidentIndividual, false}, // last is a digit
		{"ABCPE1234", ResidentIndividual, false},  // 9 characters
		{"ABCPE1234FG", ResidentIndividual, false},
		{"abcpe1234f", ResidentIndividual, false}, // Validate expects Normalise's upper case
		{"", ResidentIndividual, false},
		{"ÀBCPE1234F", ResidentIndividual, false},
	} {
		if got := CheckPAN(c.pan, c.ts) == ""; got != c.ok {
			t.Errorf("CheckPAN(%q, %q) ok=%v, want %v (%s)", c.pan, c.ts, got, c.ok, CheckPAN(c.pan, c.ts))
		}
	}
}

func TestCheckIFSC(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"HDFC0001234", true},
		{"SBIN0000001", true},
		{"ICIC0ABC123", true},  // branch codes may have letters
		{"HDFC1001234", false}, // 5th is the reserved 0
		{"HDF00001234", false}, // bank code is 4 letters
		{"HDFC000123", false},  // 10 characters
		{"HDFC00012345", false},
		{"hdfc0001234", false},
		{"HDFC0-01234", false},
		{"", false},
	} {
		if got := CheckIFSC(c.s) == ""; got != c.ok {
			t.Errorf("CheckIFSC(%q) ok=%v, want %v", c.s, got, c.ok)
		}
	}
}

func TestCheckEmail(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"a@b.in", true},
		{"first.last+mf@example.co.in", true},
		{"x_y-z@sub-domain.example.com", true},
		{"", false},
		{"plain", false},
		{"a@b", false},       // no dot in the domain
		{"a@@b.in", false},   // two @
		{"a@b@c.in", false},  // two @
		{"@b.in", false},     // empty local part
		{"a b@c.in", false},  // space
		{".a@b.in", false},   // leading dot
		{"a..b@c.in", false}, // double dot
		{"a@-b.in", false},   // label starts with a hyphen
		{"a@b..in", false},   // empty label
		{"a@b.c0m", false},   // the top-level label must be letters
		{"a@b1.in", true},    // other labels may have digits
		{"a@b.123", false},   // numeric TLD
		{"a@b_c.in", false},  // underscore in the domain
		{strings.Repeat("a", 65) + "@b.in", false},
	} {
		if got := CheckEmail(c.s) == ""; got != c.ok {
			t.Errorf("CheckEmail(%q) ok=%v, want %v (%s)", c.s, got, c.ok, CheckEmail(c.s))
		}
	}
}

func TestNormaliseMobile(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"9876543210", "+919876543210"},
		{"+91 98765 43210", "+919876543210"},
		{"919876543210", "+919876543210"},
		{"09876543210", "+919876543210"},
		{"(+91) 98765-43210", "+919876543210"},
		{"6000000000", "+916000000000"},
		{"+14155552671", "+14155552671"}, // US, E.164
		{"+447911123456", "+447911123456"},
		{"5876543210", ""},  // Indian mobiles start 6-9
		{"987654321", ""},   // 9 digits
		{"98765432101", ""}, // 11 digits, no leading 0
		{"+9198765", ""},
		{"+0123456789", ""}, // no country code 0
		{"98765+43210", ""},
		{"98765.43210", ""},
		{"+1234567", ""}, // + and 7 digits: too short
		{"", ""},
	} {
		got, why := NormaliseMobile(c.in)
		if got != c.want || (c.want == "") != (why != "") {
			t.Errorf("NormaliseMobile(%q) = %q, %q; want %q", c.in, got, why, c.want)
		}
	}
}

func d(y int, m time.Month, day int) fund.Date { return fund.Date{Year: y, Month: m, Day: day} }

func TestMajorityDate(t *testing.T) {
	for _, c := range []struct{ dob, want fund.Date }{
		{d(2008, 12, 5), d(2026, 12, 5)},
		{d(2008, 2, 29), d(2026, 3, 1)}, // 2026 has no 29 Feb: 18 full years end on 28 Feb, so 1 March
		{d(2004, 2, 29), d(2022, 3, 1)}, // 2022 is not a leap year
		{d(2000, 2, 29), d(2018, 3, 1)},
		{d(1996, 2, 29), d(2014, 3, 1)},
		{d(2010, 2, 28), d(2028, 2, 28)}, // 2028 is a leap year; 28 Feb stays 28 Feb
		{d(2012, 2, 29), d(2030, 3, 1)},
		{d(2008, 1, 31), d(2026, 1, 31)},
		{d(2008, 12, 31), d(2026, 12, 31)},
	} {
		if got := MajorityDate(c.dob); got != c.want {
			t.Errorf("MajorityDate(%s) = %s, want %s", c.dob, got, c.want)
		}
	}
	// A 29-Feb child is a minor on 28 Feb of the 18th year and not on 1 March.
	if !IsMinor(d(2008, 2, 29), d(2026, 2, 28)) || IsMinor(d(2008, 2, 29), d(2026, 3, 1)) {
		t.Error("29 Feb 2008: minor on 2026-02-28, major on 2026-03-01")
	}
	// The day before the birthday a minor, on the birthday not.
	if !IsMinor(d(2008, 12, 5), d(2026, 12, 4)) || IsMinor(d(2008, 12, 5), d(2026, 12, 5)) {
		t.Error("5 Dec 2008: minor on 2026-12-04, major on 2026-12-05")
	}
	// TodayIST: 19:00 UTC on 4 Dec is 00:30 IST on 5 Dec.
	if got := TodayIST(time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)); got != d(2026, 12, 5) {
		t.Errorf("TodayIST = %s, want 2026-12-05", got)
	}
}

var today = d(2026, 12, 5)

// good is a valid resident individual.
func good() Investor {
	return Investor{
		ID: "INV-1", Name: "Asha Rao", PAN: "ABCPE1234F", DOB: "1990-04-01", TaxStatus: ResidentIndividual,
		Email: "asha@example.in", Mobile: "9876543210",
		Address:      Address{Line1: "12 MG Road", City: "Bengaluru", State: "KA", Pincode: "560001", Country: "IN"},
		BankAccounts: []BankAccount{{AccountNo: "50100012345678", IFSC: "HDFC0001234", HolderName: "Asha Rao", Type: "savings", Default: true}},
		Nominees:     []Nominee{{Name: "Ravi Rao", Relationship: "spouse", Share: decimal.RequireFromString("60")}, {Name: "Mira Rao", Relationship: "daughter", Share: decimal.RequireFromString("40"), DOB: "2015-06-01", GuardianName: "Ravi Rao"}},
		FATCA:        &FATCA{BirthCountry: "IN", Citizenship: "IN", TaxResidencies: []TaxResidency{{Country: "IN"}}},
	}
}

func fields(es Errors) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Investor)
		want   []string // the fields named, sorted
	}{
		{"valid", func(*Investor) {}, nil},
		{"lower-case PAN normalised", func(i *Investor) { i.PAN = " abcpe1234f " }, nil},
		{"PAN of a company for an individual", func(i *Investor) { i.PAN = "ABCCE1234F" }, []string{"pan"}},
		{"no PAN", func(i *Investor) { i.PAN = "" }, []string{"pan"}},
		{"bad tax status", func(i *Investor) { i.TaxStatus = "alien" }, []string{"tax_status"}},
		{"bad dob format", func(i *Investor) { i.DOB = "01-04-1990" }, []string{"dob"}},
		{"31 Feb", func(i *Investor) { i.DOB = "1990-02-31" }, []string{"dob"}},
		{"dob in the future", func(i *Investor) { i.DOB = "2026-12-06" }, []string{"dob"}},
		{"a 17-year-old resident individual", func(i *Investor) { i.DOB = "2008-12-06" }, []string{"dob"}},
		{"18 today", func(i *Investor) { i.DOB = "2008-12-05" }, nil},
		{"guardian of an adult", func(i *Investor) { i.Guardian = &Guardian{Name: "X", PAN: "ABCPX1234F", Relationship: "father"} }, []string{"guardian"}},
		{"bad email and mobile", func(i *Investor) { i.Email = "asha"; i.Mobile = "12345" }, []string{"email", "mobile"}},
		{"pincode", func(i *Investor) { i.Address.Pincode = "060001" }, []string{"address.pincode"}},
		{"foreign address, free pincode", func(i *Investor) { i.Address.Country = "gb"; i.Address.Pincode = "SW1A 1AA" }, nil},
		{"bad IFSC", func(i *Investor) { i.BankAccounts[0].IFSC = "HDFC1001234" }, []string{"bank_accounts[0].ifsc"}},
		{"account number letters", func(i *Investor) { i.BankAccounts[0].AccountNo = "50100A12345" }, []string{"bank_accounts[0].account_no"}},
		{"no default account", func(i *Investor) { i.BankAccounts[0].Default = false }, []string{"bank_accounts"}},
		{"two defaults and a duplicate", func(i *Investor) { i.BankAccounts = append(i.BankAccounts, i.BankAccounts[0]) }, []string{"bank_accounts", "bank_accounts[1].account_no"}},
		{"NRE for a resident", func(i *Investor) { i.BankAccounts[0].Type = "nre" }, []string{"bank_accounts[0].type"}},
		{"no accounts", func(i *Investor) { i.BankAccounts = nil }, []string{"bank_accounts"}},
		// 60 + 30 = 90: not 100.
		{"shares 90", func(i *Investor) { i.Nominees[1].Share = decimal.RequireFromString("30") }, []string{"nominees"}},
		// 33.33 + 33.33 + 33.34 = 100.00
		{"thirds to the paisa", func(i *Investor) {
			i.Nominees = []Nominee{{Name: "A", Relationship: "son", Share: decimal.RequireFromString("33.33")}, {Name: "B", Relationship: "son", Share: decimal.RequireFromString("33.33")}, {Name: "C", Relationship: "son", Share: decimal.RequireFromString("33.34")}}
		}, nil},
		// 33.333 has 3 decimals; 33.333 + 33.333 + 33.334 = 100 but the share is refused.
		{"three decimals", func(i *Investor) {
			i.Nominees = []Nominee{{Name: "A", Relationship: "son", Share: decimal.RequireFromString("33.333")}, {Name: "B", Relationship: "son", Share: decimal.RequireFromString("33.333")}, {Name: "C", Relationship: "son", Share: decimal.RequireFromString("33.334")}}
		}, []string{"nominees[0].share", "nominees[1].share", "nominees[2].share"}},
		// 100 + 0 = 100, but a zero share is not a nomination.
		{"zero share", func(i *Investor) { i.Nominees[0].Share = decimal.NewFromInt(100); i.Nominees[1].Share = decimal.Zero }, []string{"nominees[1].share"}},
		// 150 + (-50) = 100
		{"negative share", func(i *Investor) {
			i.Nominees[0].Share = decimal.NewFromInt(150)
			i.Nominees[1].Share = decimal.NewFromInt(-50)
		}, []string{"nominees[0].share", "nominees[1].share"}},
		{"minor nominee without guardian", func(i *Investor) { i.Nominees[1].GuardianName = "" }, []string{"nominees[1].guardian_name"}},
		{"no nominees, no opt-out", func(i *Investor) { i.Nominees = nil }, []string{"nominees"}},
		{"explicit opt-out", func(i *Investor) { i.Nominees = nil; i.NominationOptOut = true }, nil},
		{"opt-out with nominees", func(i *Investor) { i.NominationOptOut = true }, []string{"nomination_opt_out"}},
		{"eleven nominees", func(i *Investor) {
			i.Nominees = nil
			for k := 0; k < 11; k++ { // 10 × 9 + 10 = 100
				i.Nominees = append(i.Nominees, Nominee{Name: "N", Relationship: "son", Share: decimal.NewFromInt(9)})
			}
			i.Nominees[10].Share = decimal.NewFromInt(10)
		}, []string{"nominees"}},
		{"no FATCA", func(i *Investor) { i.FATCA = nil }, []string{"fatca"}},
		{"foreign residency without TIN", func(i *Investor) {
			i.FATCA.TaxResidencies = append(i.FATCA.TaxResidencies, TaxResidency{Country: "US"})
		}, []string{"fatca.tax_residencies[1].tin"}},
		{"foreign residency with TIN", func(i *Investor) {
			i.FATCA.TaxResidencies = append(i.FATCA.TaxResidencies, TaxResidency{Country: "us", TIN: "123-45-6789"})
		}, nil},
		{"duplicate residency", func(i *Investor) {
			i.FATCA.TaxResidencies = append(i.FATCA.TaxResidencies, TaxResidency{Country: "IN"})
		}, []string{"fatca.tax_residencies[1].country"}},
		{"NRI with only India", func(i *Investor) { i.TaxStatus = NRI }, []string{"fatca.tax_residencies"}},
		{"NRI", func(i *Investor) {
			i.TaxStatus = NRI
			i.BankAccounts[0].Type = "nre"
			i.Mobile = "+14155552671"
			i.FATCA.TaxResidencies = []TaxResidency{{Country: "US", TIN: "123456789"}}
		}, nil},
		{"NUL in the name", func(i *Investor) { i.Name = "A\x00" }, []string{"name"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			inv := good()
			c.change(&inv)
			inv.Normalise()
			es := inv.Validate(today)
			if got := fields(es); !reflect.DeepEqual(got, c.want) {
				t.Errorf("fields %v, want %v (%v)", got, c.want, es)
			}
		})
	}
}

func minor() Investor {
	inv := good()
	inv.TaxStatus, inv.PAN, inv.DOB = Minor, "", "2012-02-29"
	inv.Guardian = &Guardian{Name: "Asha Rao", PAN: "ABCPE1234F", Relationship: "mother"}
	inv.Nominees = nil
	return inv
}

func TestValidateMinor(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Investor)
		today  fund.Date
		want   []string
	}{
		{"valid", func(*Investor) {}, today, nil},
		{"no guardian", func(i *Investor) { i.Guardian = nil }, today, []string{"guardian"}},
		{"guardian without PAN", func(i *Investor) { i.Guardian.PAN = "" }, today, []string{"guardian.pan"}},
		{"guardian PAN of a company", func(i *Investor) { i.Guardian.PAN = "ABCCE1234F" }, today, []string{"guardian.pan"}},
		{"bad relationship", func(i *Investor) { i.Guardian.Relationship = "uncle" }, today, []string{"guardian.relationship"}},
		{"minor's own PAN, valid", func(i *Investor) { i.PAN = "ZZZPZ9999Z" }, today, nil},
		{"a minor's nominees", func(i *Investor) {
			i.Nominees = []Nominee{{Name: "A", Relationship: "mother", Share: decimal.NewFromInt(100)}}
		}, today, []string{"nominees"}},
		// Born 29 Feb 2012; 2030 is not a leap year: a minor on 28 Feb 2030, of age on 1 Mar 2030.
		{"last day a minor", func(*Investor) {}, d(2030, 2, 28), nil},
		{"first day of age", func(*Investor) {}, d(2030, 3, 1), []string{"dob"}},
		{"adult as minor", func(i *Investor) { i.DOB = "2000-01-01" }, today, []string{"dob"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			inv := minor()
			c.change(&inv)
			inv.Normalise()
			if got := fields(inv.Validate(c.today)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("fields %v, want %v", got, c.want)
			}
		})
	}
}

func TestValidateNonIndividual(t *testing.T) {
	inv := good()
	inv.TaxStatus, inv.PAN, inv.DOB = NonIndividual, "AAACR5055K", "1981-07-02" // a company's PAN: 4th letter C
	inv.Nominees = nil
	inv.Normalise()
	if es := inv.Validate(today); es != nil {
		t.Fatalf("company: %v", es)
	}
	inv.NominationOptOut = true
	if got := fields(inv.Validate(today)); !reflect.DeepEqual(got, []string{"nomination_opt_out"}) {
		t.Fatalf("company opting out: %v", got)
	}
}

// The errors list is what the API answers: field and reason in JSON.
func TestErrorsJSON(t *testing.T) {
	inv := good()
	inv.Nominees[1].Share = decimal.RequireFromString("30")
	inv.Normalise()
	b, err := json.Marshal(inv.Validate(today))
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"field":"nominees","reason":"shares sum to 90, want 100"}]`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}
