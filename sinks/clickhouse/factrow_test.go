package clickhouse

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// The direction of a transaction fact: +1 issues units, −1 redeems them, 0
// for a switch payout (no units; its money already left with the
// switch-out) and an IDCW payout (no units move). An unknown kind is an error, not a guess.
func TestFactRowDirection(t *testing.T) {
	cases := []struct {
		kind string
		dir  int8
		err  bool
	}{
		{"purchase", 1, false}, {"switch_in", 1, false}, {"redemption", -1, false}, {"switch_out", -1, false},
		{fund.KindSwitchPayout, 0, false}, {fund.KindIDCWPayout, 0, false}, {"idcw_reinvest", 1, false}, {"gift", 0, true},
	}
	for _, c := range cases {
		ev := fund.TransactionCompleted{TxID: 1, Kind: c.kind, NAVDate: "2026-08-20", NAV: "10.0000", Units: "0", Amount: "4.00",
			StampDuty: "0.00", ExitLoad: "0.00", NetAmount: "4.00", PlacedAt: "2026-08-20T06:30:00Z", PostedAt: "2026-08-20T06:31:00Z"}
		row, err := factRow(ev)
		if (err != nil) != c.err {
			t.Errorf("%s: error %v", c.kind, err)
			continue
		}
		if err == nil && row[4].(int8) != c.dir {
			t.Errorf("%s: direction %d, want %d", c.kind, row[4], c.dir)
		}
	}
}
