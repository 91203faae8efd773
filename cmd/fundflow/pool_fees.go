package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pool"
)

type poolFeesCmd struct {
	Terms   poolFeeTermsCmd   `cmd:"" help:"set a pool's fee terms from a date (AUM rate, performance fee, hurdle), JSON"`
	Bill    poolFeeBillCmd    `cmd:"" help:"bill a period: the AUM fee the pool NAVs accrued (and the performance fee with --crystallise) with GST on an invoice, paid from the pool's cash, once per pool and period, JSON"`
	Cancel  poolFeeCancelCmd  `cmd:"" help:"cancel a due pool invoice nothing can pay: its sales cancelled, its accruals open again so the period can be billed again, JSON"`
	Invoice poolFeeInvoiceCmd `cmd:"" help:"print a pool invoice (a period's, or a member's performance fee on exit PFEE-<pool>-EXIT-<request>) as JSON, and write its CSV and PDF"`
}

type poolFeeInvoiceCmd struct {
	Invoice string `required:"" help:"The invoice id." placeholder:"ID"`
	Out     string `help:"Write the invoice here as <id>.csv and <id>.pdf." placeholder:"DIR"`
}

func (poolFeeInvoiceCmd) Help() string {
	return `Reads only. Exit 0 with the invoice; 2 for an unknown id.`
}

func (c poolFeeInvoiceCmd) Run(a *app) error {
	return a.pools(time.Time{}, func(_ *deps, s *pool.Service) error {
		inv, found, err := s.Invoice(a.ctx, c.Invoice)
		if err != nil {
			return err
		}
		if !found {
			return &exitError{code: 2, err: fmt.Errorf("no pool invoice %s", c.Invoice)}
		}
		if c.Out != "" {
			if err := writeInvoice(c.Out, inv); err != nil {
				return err
			}
		}
		return printJSON(a.stdout, inv)
	})
}

type poolFeeCancelCmd struct {
	Invoice string `required:"" help:"The due invoice's id (PFEE-<pool>-<from>-<to>)." placeholder:"ID"`
	Reason  string `required:"" help:"Why (kept on the invoice, in the audit row and the fee.cancelled event)." placeholder:"TEXT"`
}

func (poolFeeCancelCmd) Help() string {
	return `For an operator, when a due invoice's holdings sales cannot pay it (its break in pool_fee_breaks, the alert pool_fee_unpayable) or it was billed wrong. Its sales not placed are dropped, those waiting in the ledger are cancelled (cancel requests <order>-X), an allotted one's proceeds stay in the pool's cash. The invoice is marked cancelled with the reason, its accruals are open again (the fee stays owed and in the pool NAV), its break and alert resolved, an audit row and a fee.cancelled event written; billing the same period again makes a new invoice <id>-B2. Its provision (the performance fee and GST beyond the accruals, posted when it went due) is reversed, so the pool NAV deducts the accruals only. A performance fee on it is waived (the high-water mark it raised stays: it never falls). Exit 0 with {"invoice_id", "released", "sold_into_cash", …} (the same again: 0, nothing more done); 1 when a sale still waits in the ledger (run it again); 2 for an invoice that is paid or unknown.`
}

func (c poolFeeCancelCmd) Run(a *app) error {
	return a.pools(time.Time{}, func(_ *deps, s *pool.Service) error {
		ev, err := s.CancelFeeInvoice(a.ctx, c.Invoice, c.Reason)
		switch {
		case errors.Is(err, pool.ErrNotDue):
			return &exitError{code: 2, err: err}
		case err != nil:
			return &exitError{code: 1, err: err}
		}
		return printJSON(a.stdout, ev)
	})
}

type poolFeeBillCmd struct {
	Pool        string    `help:"Bill this pool only (default: every pool with fee terms)." placeholder:"ID"`
	From        fund.Date `required:"" help:"The period's first day (YYYY-MM-DD): the accruals of the pool NAVs from..to are billed." placeholder:"DATE"`
	To          fund.Date `required:"" help:"The period's last day." placeholder:"DATE"`
	Crystallise bool      `help:"Crystallise the performance fee over the high-water mark at the NAV on or before --to (yearly, or on exit)."`
	Out         string    `help:"Write the invoice here as <id>.csv and <id>.pdf (with --pool)." placeholder:"DIR"`
	Clock       time.Time `hidden:"" help:"run at this time (RFC 3339; a sale's redemptions are placed then): tests and the demo only"`
}

func (poolFeeBillCmd) Help() string {
	return `The same period again prints the same invoice and charges nothing. When the pool's cash is short of the bill, the pool sells holdings of its folio FIFO (ordinary redemption orders) for the rest: the invoice is "due" until the ledger allots them; run the same command again after the allotment to bring the proceeds into the pool's cash and pay it ("charged"). Exit 0 with the invoice (--pool) or {"billed", "existing", "due", "total", "skipped"}; 1 when the cash and the holdings together cannot pay the bill (the error names the shortfall; nothing is charged and the fee stays accrued in the NAV), or, without --pool, when some pool was skipped; 2 for bad flags or a pool billed for another period end.`
}

func (c poolFeeBillCmd) Run(a *app) error {
	if c.To.Before(c.From) {
		return usageErr("--to %s is before --from %s", c.To, c.From)
	}
	if c.Out != "" && c.Pool == "" {
		return usageErr("--out needs --pool")
	}
	return a.pools(c.Clock, func(_ *deps, s *pool.Service) error {
		if c.Pool == "" {
			res, err := s.BillAllFees(a.ctx, c.From, c.To, c.Crystallise)
			if err != nil {
				return err
			}
			if err := printJSON(a.stdout, res); err != nil {
				return err
			}
			if len(res.Skipped) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d pools not billed (see \"skipped\")", len(res.Skipped))}
			}
			return nil
		}
		inv, _, err := s.BillFees(a.ctx, c.Pool, c.From, c.To, c.Crystallise)
		switch {
		case errors.Is(err, pool.ErrCashShort):
			return &exitError{code: 1, err: err}
		case errors.Is(err, pool.ErrConflict) || errors.Is(err, pool.ErrNoPool) || errors.Is(err, pool.ErrNoFeeTerms) ||
			errors.Is(err, pool.ErrNotAccrued):
			return &exitError{code: 2, err: err}
		case err != nil:
			return err
		}
		if c.Out != "" {
			if err := writeInvoice(c.Out, inv); err != nil {
				return err
			}
		}
		return printJSON(a.stdout, inv)
	})
}

type poolFeeTermsCmd struct {
	Pool    string    `required:"" help:"The pool id." placeholder:"ID"`
	From    fund.Date `required:"" help:"In effect from this date (YYYY-MM-DD); the same date again replaces them." placeholder:"DATE"`
	AUMRate string    `required:"" name:"aum-rate" help:"Annual management fee in percent (\"1.25\"), accrued daily in the pool NAV." placeholder:"PCT"`
	Perf    string    `default:"0" help:"Performance fee in percent of the gain per unit above the high-water mark." placeholder:"PCT"`
	Hurdle  string    `default:"0" help:"Hurdle in percent over the NAV at the last crystallisation." placeholder:"PCT"`
}

func (c poolFeeTermsCmd) Run(a *app) error {
	ps, err := feePercents(c.AUMRate, c.Perf, c.Hurdle)
	if err != nil {
		return err
	}
	return a.pools(time.Time{}, func(_ *deps, s *pool.Service) error {
		t := pool.FeeTerms{Pool: c.Pool, From: c.From, AUMRatePct: ps[0], PerfPct: ps[1], HurdlePct: ps[2]}
		if err := s.SetFeeTerms(a.ctx, t); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("pool fees terms: %w", err)}
		}
		return printJSON(a.stdout, t)
	})
}
