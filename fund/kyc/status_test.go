package kyc

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

func TestStatusOfCode(t *testing.T) {
	for _, c := range []struct {
		code string
		want Status
		ok   bool
	}{
		{"01", UnderProcess, true}, {"02", Registered, true}, {"03", OnHold, true}, {"04", Rejected, true},
		{"05", NotAvailable, true}, {"06", Deactivated, true}, {"07", Validated, true}, {"11", UnderProcess, true},
		{"12", RegisteredIncomplete, true}, {"13", OnHold, true}, {"22", Registered, true},
		{"007", Validated, true}, {"002", Registered, true}, {"7", Validated, true}, {" 03 ", OnHold, true},
		{"99", "", false}, {"08", "", false}, {"", "", false}, {"0007", "", false}, {"x", "", false},
	} {
		got, ok := StatusOfCode(c.code)
		if got != c.want || ok != c.ok {
			t.Errorf("StatusOfCode(%q) = %q %v, want %q %v", c.code, got, ok, c.want, c.ok)
		}
	}
}

// The shipped table over its dates, written out by hand from
// data/permissions.csv's comments: before 2024-04-01 a registered KYC
// opens new folios, from that day it does not.
func TestPermissionsOverDates(t *testing.T) {
	before, on, later := d(2024, 3, 31), d(2024, 4, 1), d(2026, 12, 5)
	for _, c := range []struct {
		s                  Status
		day                fund.Date
		newFolio, add, red bool
	}{
		{Validated, before, true, true, true},
		{Validated, later, true, true, true},
		{Registered, before, true, true, true},
		{Registered, on, false, true, true},
		{Registered, later, false, true, true},
		{RegisteredIncomplete, later, false, false, true},
		{UnderProcess, later, false, false, true},
		{OnHold, before, false, false, true},
		{OnHold, later, false, false, true},
		{Rejected, later, false, false, true},
		{Deactivated, later, false, false, false},
		{NotAvailable, later, false, false, true},
	} {
		p, ok := Permissions.At(c.s, c.day)
		if !ok || p.NewFolio != c.newFolio || p.AdditionalPurchase != c.add || p.Redemption != c.red {
			t.Errorf("%s on %s: %+v %v, want new %v add %v redeem %v", c.s, c.day, p, ok, c.newFolio, c.add, c.red)
		}
	}
	if _, ok := Permissions.At(Validated, d(1999, 12, 31)); ok {
		t.Error("a row before the table's first date")
	}
	if _, ok := Permissions.At("gibberish", later); ok {
		t.Error("an unknown status has a row")
	}
}

func TestDecide(t *testing.T) {
	day := d(2026, 12, 5)
	for _, c := range []struct {
		s                  Status
		inoperative        bool
		day                fund.Date // zero: 5 Dec 2026
		reason             string
		blocksBuy, blocksR bool
		blocksNew          bool
	}{
		{Validated, false, fund.Date{}, "", false, false, false},
		// Since 1 April 2024 a registered KYC opens no new folio, and keeps
		// buying into and redeeming from the folios it has.
		{Registered, false, fund.Date{}, ReasonOnHold, false, false, true},
		{Registered, false, d(2024, 3, 31), "", false, false, false},
		{OnHold, false, fund.Date{}, ReasonOnHold, true, false, true},
		{UnderProcess, false, fund.Date{}, ReasonOnHold, true, false, true},
		{Rejected, false, fund.Date{}, ReasonRejected, true, false, true},
		{Deactivated, false, fund.Date{}, ReasonRejected, true, true, true},
		{NotAvailable, false, fund.Date{}, ReasonMissing, true, false, true},
		{"", false, fund.Date{}, ReasonMissing, true, false, true},              // no record at all
		{"mystery", false, fund.Date{}, ReasonMissing, true, false, true},       // a status the table does not know
		{Validated, true, fund.Date{}, ReasonPANInoperative, true, false, true}, // inoperative PAN: on hold whatever the KRA says
		{Deactivated, true, fund.Date{}, ReasonPANInoperative, true, true, true},
	} {
		on := day
		if c.day != (fund.Date{}) {
			on = c.day
		}
		got := Decide(Permissions, c.s, c.inoperative, on)
		if got.Reason != c.reason || got.BlocksPurchase != c.blocksBuy || got.BlocksRedemption != c.blocksR || got.BlocksNewFolio != c.blocksNew ||
			got.Restrict != (c.blocksBuy || c.blocksR || c.blocksNew) {
			t.Errorf("Decide(%q, %v, %s) = %+v", c.s, c.inoperative, on, got)
		}
	}
}

func TestParsePermissionsRefuses(t *testing.T) {
	head := "status,effective_from,new_folio,additional_purchase,redemption,reason\n"
	for _, c := range []struct{ name, body string }{
		{"no reason for a block", head + "on_hold,2020-01-01,N,N,Y,\n"},
		{"flag not Y/N", head + "validated,2020-01-01,Y,yes,Y,\n"},
		{"bad date", head + "validated,2020-13-01,Y,Y,Y,\n"},
		{"twice", head + "validated,2020-01-01,Y,Y,Y,\nvalidated,2020-01-01,Y,Y,Y,\n"},
		{"missing column", "status,effective_from\n"},
	} {
		if _, err := ParsePermissions(strings.NewReader(c.body)); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
