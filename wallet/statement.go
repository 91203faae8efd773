package wallet

import (
	"context"
	"fmt"

	"github.com/fundflow/fundflow/fund"
)

// StatementLines are a wallet's lines on its folio's statement: the
// balance at the period's start and end and the period's movements by
// kind, each from the wallet journal (the wallet:<id> account).
type StatementLines struct {
	WalletID, Model  string
	Opening, Closing fund.Amount
	Flows            []Flow // by kind, in a fixed order
	// Rebalances are the wallet's rebalance runs proposed in the period,
	// oldest first.
	Rebalances []RebalanceLine
}

// RebalanceLine is a rebalance run as the statement shows it: proposed
// (its plan fixed) on one IST day, executed (its switches placed) on the
// same or a later one; one executed after the period's end shows as
// proposed.
type RebalanceLine struct {
	ID       string
	Proposed fund.Date
	Executed *fund.Date // nil: not executed by the period's end
	Switches int
	Amount   fund.Amount // the switches' sum
}

// Flow is the period's movements of one kind: In credited the wallet, Out
// debited it; Count entries.
type Flow struct {
	Kind    string
	In, Out fund.Amount
	Count   int
}

// StatementStore reads statement lines (wallet/pgstore).
type StatementStore interface {
	// WalletStatement reads the lines of each wallet auto-investing into
	// folio, for the IST days from through to (from zero: since the
	// wallet opened).
	WalletStatement(ctx context.Context, folio string, from, to fund.Date) ([]StatementLines, error)
}

// Statement reads the lines of the wallets investing into folio for the
// statement of from through to.
func (s *Service) Statement(ctx context.Context, folio string, from, to fund.Date) ([]StatementLines, error) {
	st, ok := s.Store.(StatementStore)
	if !ok {
		return nil, fmt.Errorf("wallet statement: the store cannot read statements")
	}
	ls, err := st.WalletStatement(ctx, folio, from, to)
	if err != nil {
		return nil, fmt.Errorf("wallet statement of folio %s: %w", folio, err)
	}
	return ls, nil
}
