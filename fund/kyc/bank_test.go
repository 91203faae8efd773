package kyc

import "testing"

func TestBankVerdict(t *testing.T) {
	cases := []struct {
		name                  string
		completed             bool
		failReason            string
		valid                 bool
		score                 int
		hasScore              bool
		min                   int
		wantVerif, wantReason string
	}{
		{"valid, exact name", true, "", true, 100, true, 0, BankVerified, ""},
		{"valid, score at the default minimum 80", true, "", true, 80, true, 0, BankVerified, ""},
		{"valid, score 79 < 80", true, "", true, 79, true, 0, BankFailed, "name_mismatch"},
		{"valid, score 60 with min 50", true, "", true, 60, true, 50, BankVerified, ""},
		{"valid, no score given", true, "", true, 0, false, 0, BankFailed, "name_mismatch"},
		{"invalid account", true, "", false, 0, true, 0, BankFailed, "invalid_account"},
		{"could not reach the bank", false, "beneficiary_bank_down", false, 0, false, 0, BankFailed, "beneficiary_bank_down"},
		{"failed without a reason", false, "", false, 0, false, 0, BankFailed, "validation_failed"},
	}
	for _, c := range cases {
		v, r := BankVerdict(c.completed, c.failReason, c.valid, c.score, c.hasScore, c.min)
		if v != c.wantVerif || r != c.wantReason {
			t.Errorf("%s: %s %q, want %s %q", c.name, v, r, c.wantVerif, c.wantReason)
		}
	}
}

func TestPayoutHold(t *testing.T) {
	cases := []struct {
		verification string
		held         bool
		reason       string
	}{
		{BankVerified, false, ""},
		{BankUnverified, true, "bank_unverified"},
		{BankPending, true, "bank_unverified"},
		{BankFailed, true, "bank_verification_failed"},
		{"", true, "no_bank_account"},
	}
	for _, c := range cases {
		if h, r := PayoutHold(c.verification); h != c.held || r != c.reason {
			t.Errorf("PayoutHold(%q) = %v %q, want %v %q", c.verification, h, r, c.held, c.reason)
		}
	}
}
