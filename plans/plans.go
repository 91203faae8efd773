// Package plans is the systematic-plan service beside the ledger: SIPs
// (purchases on a schedule, debited from a mandate), STPs (switches on a
// schedule) and SWPs (redemptions by amount on a schedule). It registers
// plans and applies their changes (pause, resume, modify, cancel), runs the
// daily instalments (generate with the pre-debit notification, present the
// debit or place the order, settle from the ledger's orders and payments)
// and posts money only through ledger.Service. The schedule rules are
// fund/schedule's; the tables are sql/postgres/015_mandates.sql and
// 016_plans.sql; plans/pgstore is the SQL.
package plans

import (
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Service is the plans use cases. Its Store is the sum of the narrow
// interfaces each use case defines beside its code (register.go,
// generate.go, settle.go, …).
type Service struct {
	Store    Store
	Calendar *fund.Calendar // business days; nil: weekends only
	Config   Config
	Now      func() time.Time

	Debiter Debiter      // the gateway SIP debits are presented to (present.go)
	Orders  Orders       // the money path instalment orders are placed on (present.go, settle.go)
	Log     *slog.Logger // nil: slog.Default()
}

// Config is the plans' operating rules (config: plans.*).
type Config struct {
	MaxPause         int           // most instalments one pause may skip (default 6)
	ModifyNoticeDays int           // a modification applies from the first nominal date at least this many days after it (default 7)
	MaxFailures      int           // consecutive failed debits that cancel a plan (default 3)
	PreDebitNotice   time.Duration // notification to debit, at least (default 24h: RBI e-mandate rule)
	HorizonDays      int           // instalments are generated this many days ahead of their due date (default 3)
}

// Defaults fills the zero fields of c.
func (c Config) Defaults() Config {
	if c.MaxPause == 0 {
		c.MaxPause = 6
	}
	if c.ModifyNoticeDays == 0 {
		c.ModifyNoticeDays = 7
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = 3
	}
	if c.PreDebitNotice == 0 {
		c.PreDebitNotice = 24 * time.Hour
	}
	if c.HorizonDays == 0 {
		c.HorizonDays = 3
	}
	return c
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Store is what the plans service keeps in Postgres (plans/pgstore). Each
// use case defines the part it needs in its own file and adds it here.
type Store interface {
	RegisterStore // register.go
	ChangeStore   // changes.go
	GenerateStore
	PresentStore
	SettleStore
}
