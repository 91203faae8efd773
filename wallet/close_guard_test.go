package wallet_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// CloseWallet closes only the exit of its own request (review r36 N1: it
// matched the wallet alone; closingFor under the same lock is the first
// guard, this the second).
func TestCloseWalletMatchesItsRequest(t *testing.T) {
	e, _ := feesEnv(t)
	st := pgstore.Store{Pool: e.db.Read}
	if err := st.InExitTx(e.ctx, func(tx wallet.ExitTx) error {
		return tx.StartExit(e.ctx, "W1", "EXIT-2", fund.NewDate(2026, 8, 20), clock)
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.InExitTx(e.ctx, func(tx wallet.ExitTx) error {
		return tx.CloseWallet(e.ctx, "W1", "EXIT-1")
	}); err == nil {
		t.Error("EXIT-1 closed the wallet EXIT-2 is closing")
	}
	if got := e.db.Str(`SELECT w.status || ' ' || (x.closed_at IS NULL) FROM wallets w JOIN wallet_exits x ON x.wallet_id = w.id WHERE w.id = 'W1'`); got != "closing true" {
		t.Errorf("W1 %s, want closing true", got)
	}
	if err := st.InExitTx(e.ctx, func(tx wallet.ExitTx) error {
		return tx.CloseWallet(e.ctx, "W1", "EXIT-2")
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT w.status || ' ' || (x.closed_at IS NULL) FROM wallets w JOIN wallet_exits x ON x.wallet_id = w.id WHERE w.id = 'W1'`); got != "closed false" {
		t.Errorf("W1 %s, want closed false", got)
	}
}
