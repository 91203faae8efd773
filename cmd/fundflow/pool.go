package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	jobpool "github.com/fundflow/fundflow/jobs/pool"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pool"
	poolch "github.com/fundflow/fundflow/pool/chstore"
	poolpg "github.com/fundflow/fundflow/pool/pgstore"
	"github.com/fundflow/fundflow/wallet"
)

// poolCmd is the `fundflow pool` group: investment pools (issue 22).
type poolCmd struct {
	Create     poolCreateCmd     `cmd:"" help:"open a pool with its launch NAV, cut-off and (optionally) the folio holding its investments"`
	Contribute poolContributeCmd `cmd:"" help:"take money from a member's wallet into a pool, priced at the next pool NAV (once per request id), JSON"`
	Withdraw   poolWithdrawCmd   `cmd:"" help:"redeem a member's pool units to its wallet at the next pool NAV (once per request id), JSON"`
	Reinvest   poolReinvestCmd   `cmd:"" help:"say whether a member's distributions buy pool units (--off: paid to the wallet)"`
	NAV        poolNAVCmd        `cmd:"" name:"nav" help:"compute the pools' NAV of a day and price the requests waiting for it, once per pool and day (jobs/pool), JSON"`
	Distribute poolDistributeCmd `cmd:"" help:"distribute an amount pro rata to the pool units on the record date (largest remainder to the paisa), paid or reinvested, once per pool and date, JSON"`
	Show       poolShowCmd       `cmd:"" help:"a wallet's pools: units, latest NAV and value, JSON"`
	Facts      poolFactsCmd      `cmd:"" help:"copy a period's pool NAVs and flows to ClickHouse pool_facts; rerunnable"`
	Fees       poolFeesCmd       `cmd:"" help:"pool fee terms and billing: the AUM fee accrued daily in the pool NAV, billed with GST on an invoice, the performance fee over the high-water mark"`
}

type poolFactsCmd struct {
	From fund.Date `required:"" help:"First day (YYYY-MM-DD)." placeholder:"DATE"`
	To   fund.Date `required:"" help:"Last day (YYYY-MM-DD)." placeholder:"DATE"`
}

func (c poolFactsCmd) Run(a *app) error {
	if c.To.Before(c.From) {
		return usageErr("--to %s is before --from %s", c.To, c.From)
	}
	return a.connected(func(d *deps) error {
		facts, err := poolpg.Store{Pool: d.pg.Pool}.Facts(a.ctx, c.From, c.To)
		if err != nil {
			return err
		}
		if err := poolch.Write(a.ctx, d.ch, facts, d.now()); err != nil {
			return err
		}
		return printJSON(a.stdout, map[string]any{"from": c.From.String(), "to": c.To.String(), "facts": len(facts)})
	})
}

// pools runs f with the pool service (the ledger's calendar and audit
// setting, the command's clock).
func (a *app) pools(clock time.Time, f func(d *deps, s *pool.Service) error) error {
	return a.connected(func(d *deps) error {
		if !clock.IsZero() {
			d.clock = func() time.Time { return clock }
		}
		l, err := moneyLedger(d)
		if err != nil {
			return err
		}
		return f(d, poolService(d, l))
	})
}

// poolService is the pool service on the ledger (its calendar, audit
// setting and clock).
func poolService(d *deps, l *ledger.Service) *pool.Service {
	return &pool.Service{Store: poolpg.Store{Pool: d.pg.Pool}, Calendar: l.Calendar, Audit: l.Audit, Now: d.now,
		Ledger: l, MaxSkew: 5 * time.Minute} // placed_at is our own clock
}

// poolQuarterBilling is the pools' quarterly billing on the managed-fees
// schedule (the wallets' crystallise month).
func poolQuarterBilling(d *deps, l *ledger.Service, crystallise time.Month) *pool.QuarterBilling {
	return &pool.QuarterBilling{Pools: poolService(d, l), Store: poolpg.Store{Pool: d.pg.Pool}, CrystalliseMonth: crystallise}
}

type poolCreateCmd struct {
	ID     string `arg:"" help:"The pool id."`
	Name   string `required:"" help:"The pool's name."`
	Launch string `default:"10.0000" help:"The NAV its first contribution buys at." placeholder:"NAV"`
	Cutoff string `default:"15:00" help:"Requests received before this time (IST) on a business day get that day's NAV." placeholder:"HH:MM"`
	Folio  string `help:"The folio holding the pool's investments (its holdings are valued in the NAV)." placeholder:"FOLIO"`
	Model  string `help:"The model (fundflow managed model) each day's contributions are invested in, into --folio, by the NAV job; none: they stay cash." placeholder:"MODEL"`
}

func (c poolCreateCmd) Run(a *app) error {
	n, err := fund.ParseNAV(c.Launch)
	if err != nil {
		return usageErr("--launch %q: %w", c.Launch, err)
	}
	return a.pools(time.Time{}, func(_ *deps, s *pool.Service) error {
		if c.Model != "" && c.Folio == "" {
			return usageErr("--model needs --folio: the folio its purchases go into")
		}
		p := pool.Pool{ID: c.ID, Name: c.Name, Launch: n, Cutoff: c.Cutoff, Folio: c.Folio, Model: c.Model}
		if err := s.Create(a.ctx, p); errors.Is(err, wallet.ErrFolioInUse) {
			return &exitError{code: 2, err: fmt.Errorf("--folio: %w", err)}
		} else if err != nil {
			return err
		}
		return printJSON(a.stdout, map[string]string{"pool_id": p.ID, "launch_nav": n.String(), "cutoff": c.Cutoff, "folio": c.Folio, "model": c.Model})
	})
}

type poolRequestFlags struct {
	Pool    string    `required:"" help:"The pool id." placeholder:"ID"`
	Wallet  string    `required:"" help:"The member's wallet id." placeholder:"ID"`
	Request string    `required:"" help:"The request id: the same id again changes nothing." placeholder:"ID"`
	Clock   time.Time `hidden:"" help:"received at this time (RFC 3339): tests and the demo only"`
}

type poolContributeCmd struct {
	poolRequestFlags
	Amount string `required:"" help:"Rupees to the paisa (\"1000.00\")." placeholder:"RUPEES"`
}

func (c poolContributeCmd) Run(a *app) error {
	amt, err := fund.ParseAmount(c.Amount)
	if err != nil {
		return usageErr("--amount %q: %w", c.Amount, err)
	}
	return a.pools(c.Clock, func(_ *deps, s *pool.Service) error {
		r, err := s.Contribute(a.ctx, c.Pool, c.Wallet, c.Request, amt)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, requestJSON(r))
	})
}

type poolWithdrawCmd struct {
	poolRequestFlags
	Units string `required:"" help:"Pool units, at most 3 decimals." placeholder:"UNITS"`
}

func (c poolWithdrawCmd) Run(a *app) error {
	u, err := fund.ParseUnits(c.Units, managed.PoolUnitsScale)
	if err != nil {
		return usageErr("--units %q: %w", c.Units, err)
	}
	return a.pools(c.Clock, func(_ *deps, s *pool.Service) error {
		r, err := s.Withdraw(a.ctx, c.Pool, c.Wallet, c.Request, u)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, requestJSON(r))
	})
}

func requestJSON(r pool.Request) map[string]string {
	m := map[string]string{"request_id": r.ID, "pool_id": r.Pool, "wallet_id": r.Wallet, "kind": r.Kind,
		"nav_date": r.NAVDate.String(), "status": r.Status}
	if r.Kind == "contribution" {
		m["amount"] = r.Amount.String()
	} else {
		m["units"] = r.Units.String()
	}
	return m
}

type poolReinvestCmd struct {
	Pool   string `required:"" help:"The pool id." placeholder:"ID"`
	Wallet string `required:"" help:"The member's wallet id." placeholder:"ID"`
	Off    bool   `help:"Pay distributions to the wallet instead."`
}

func (c poolReinvestCmd) Run(a *app) error {
	return a.pools(time.Time{}, func(_ *deps, s *pool.Service) error {
		if err := s.SetReinvest(a.ctx, c.Pool, c.Wallet, !c.Off); err != nil {
			return err
		}
		return printJSON(a.stdout, map[string]any{"pool_id": c.Pool, "wallet_id": c.Wallet, "reinvest": !c.Off})
	})
}

type poolNAVCmd struct {
	Day   fund.Date `required:"" help:"The NAV date (YYYY-MM-DD), a business day." placeholder:"DATE"`
	Pool  []string  `help:"Only these pools (default: all)." placeholder:"ID"`
	Clock time.Time `hidden:"" help:"run at this time (RFC 3339; the pools' purchases are placed then): tests and the demo only"`
}

func (c poolNAVCmd) Run(a *app) error {
	return a.pools(c.Clock, func(d *deps, s *pool.Service) error {
		j := jobpool.Job{Pools: s, Day: c.Day, Only: c.Pool, Log: d.log}
		var st jobpool.Stats
		if err := supervise.Single(a.ctx, d.pg, jobpool.Name, func(ctx context.Context) (err error) { st, err = j.Run(ctx); return err }); err != nil {
			return err
		}
		if err := printJSON(a.stdout, st); err != nil {
			return err
		}
		if len(st.Failed) > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%d pools not priced for %s (see \"failed\")", len(st.Failed), c.Day)}
		}
		return nil
	})
}

type poolDistributeCmd struct {
	Pool   string    `required:"" help:"The pool id." placeholder:"ID"`
	Record fund.Date `required:"" help:"The record date (YYYY-MM-DD): the pool's latest NAV date." placeholder:"DATE"`
	Amount string    `required:"" help:"Rupees to the paisa (\"1000.00\")." placeholder:"RUPEES"`
}

func (c poolDistributeCmd) Run(a *app) error {
	amt, err := fund.ParseAmount(c.Amount)
	if err != nil {
		return usageErr("--amount %q: %w", c.Amount, err)
	}
	return a.pools(time.Time{}, func(_ *deps, s *pool.Service) error {
		d, err := s.Distribute(a.ctx, c.Pool, c.Record, amt)
		if errors.Is(err, managed.ErrZeroUnits) || errors.Is(err, pool.ErrRecordDate) || errors.Is(err, pool.ErrCashShort) || errors.Is(err, pool.ErrConflict) {
			return &exitError{code: 1, err: err}
		}
		if err != nil {
			return err
		}
		return printJSON(a.stdout, d)
	})
}

type poolShowCmd struct {
	Wallet string `arg:"" help:"The wallet id."`
}

func (c poolShowCmd) Run(a *app) error {
	return a.pools(time.Time{}, func(_ *deps, s *pool.Service) error {
		vs, err := s.Members(a.ctx, strings.TrimSpace(c.Wallet))
		if err != nil {
			return err
		}
		if vs == nil {
			vs = []pool.MemberView{}
		}
		return printJSON(a.stdout, map[string]any{"wallet_id": c.Wallet, "pools": vs})
	})
}
