package ledger

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// What a restriction may say, and which legs it holds: a bank restriction
// (the default account not verified) holds only the legs that pay money
// out to the bank, redemptions; every other source holds by its flags,
// switch legs by either.
func TestCheckRestrictionAndBlocks(t *testing.T) {
	kinds := []fund.TxKind{fund.Purchase, fund.Redemption, fund.SwitchOut, fund.SwitchIn}
	cases := []struct {
		name    string
		r       Restriction
		wantErr bool
		blocks  [4]bool // purchase, redemption, switch-out, switch-in
	}{
		{"kyc purchase only", Restriction{Source: HoldKYC, Reason: "kyc_on_hold", By: "kra", BlocksPurchase: true}, false, [4]bool{true, false, true, true}},
		{"kyc both", Restriction{Source: HoldKYC, Reason: "kyc_rejected", By: "kra", BlocksPurchase: true, BlocksRedemption: true}, false, [4]bool{true, true, true, true}},
		{"bank payouts", Restriction{Source: HoldBank, Reason: "bank_unverified", By: "bank", BlocksRedemption: true}, false, [4]bool{false, true, false, false}},
		{"bank may not block purchases", Restriction{Source: HoldBank, Reason: "bank_unverified", By: "bank", BlocksPurchase: true, BlocksRedemption: true}, true, [4]bool{}},
		{"bank blocking nothing", Restriction{Source: HoldBank, Reason: "bank_unverified", By: "bank"}, true, [4]bool{}},
		{"unknown source", Restriction{Source: "tax", Reason: "x", By: "y", BlocksPurchase: true}, true, [4]bool{}},
		{"blocks nothing", Restriction{Source: HoldKYC, Reason: "kyc_on_hold", By: "kra"}, true, [4]bool{}},
		{"fraud shows under_review only", Restriction{Source: HoldFraud, Reason: "velocity", By: "fraud", BlocksPurchase: true}, true, [4]bool{}},
		{"no reason", Restriction{Source: HoldBank, By: "bank", BlocksRedemption: true}, true, [4]bool{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkRestriction(c.r)
			if (err != nil) != c.wantErr {
				t.Fatalf("checkRestriction: %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			for i, k := range kinds {
				if got := c.r.Blocks(k); got != c.blocks[i] {
					t.Errorf("Blocks(%s) = %v, want %v", k, got, c.blocks[i])
				}
			}
		})
	}
}
