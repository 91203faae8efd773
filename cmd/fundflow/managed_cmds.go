package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

// managedCmd is the `fundflow managed` group: wallets, model portfolios
// and rebalancing (issue 22).
type managedCmd struct {
	Model         managedModelCmd         `cmd:"" help:"store a model portfolio version from a JSON file (refused unless its weights sum to 100)"`
	Questionnaire managedQuestionnaireCmd `cmd:"" help:"store a risk questionnaire version from a JSON file (refused unless every score maps to one profile and a model)"`
	Assess        managedAssessCmd        `cmd:"" help:"score an investor's answers into a risk profile and its model, kept as evidence, JSON"`
	Wallet        managedWalletCmd        `cmd:"" help:"open a wallet for an investor and set its auto-invest model and folio"`
	Balance       managedBalanceCmd       `cmd:"" help:"a wallet's balance, model and folio, JSON"`
	Rebalance     managedRebalanceCmd     `cmd:"" help:"measure a wallet's drift from its model and switch it back over the threshold; --dry-run prints the switches and estimated exit load and tax"`
	Fees          managedFeesCmd          `cmd:"" help:"fee terms, daily valuations, billing a period with invoices (CSV and PDF)"`
	Withdrawal    managedWithdrawalCmd    `cmd:"" help:"withdrawals parked under review: cancel one (its money back into the wallet)"`
	Exit          managedExitCmd          `cmd:"" help:"take a wallet out of managed investing: fees to the day with the performance fee crystallised, the cash paid out, the wallet closed; once; JSON"`
}

type managedExitCmd struct {
	Wallet  string    `required:"" help:"The wallet leaving managed investing." placeholder:"ID"`
	Request string    `required:"" help:"The exit's request id (its withdrawal's): the same request again changes nothing; again on an exit left closing finishes it." placeholder:"ID"`
	Cancel  bool      `help:"Cancel the exit of --request left closing (after a crash, 30 minutes or more after its start) instead of finishing it: the wallet open again, its invoices billed stay due."`
	Clock   time.Time `hidden:"" help:"run as if it were this time (RFC 3339): tests and the demo only"`
}

func (managedExitCmd) Help() string {
	return `Take a wallet out of managed investing, once per --request. The wallet is first marked closing under its lock (deposits to it become wallet_closed breaks; auto-invest, rebalancing, pool contributions and withdrawals refuse it); every period not billed yet, from the day after its last invoice (or the fee terms' first day) to today, is billed, one invoice per quarter, the last with the performance fee crystallised on a valuation written afresh; then, in one transaction, every due invoice is paid from the cash oldest first, the rest is withdrawn to the investor's bank account (withdrawal exit:<request>), and the wallet is closed with its auto-invest terms disabled. The folio's units stay the investor's, no longer managed or charged. Money that still reaches a closed wallet is paid on to the bank (withdrawal closed:<kind>:<ref>).

Exit 0 with {"status": "exited" or "already_exited", "day", "invoices": [...], "withdrawal": {...}}; 1 while an order of the folio is in flight or money is on its way back to the wallet, while the wallet holds pool units or a pool request or a SIP plan pays into it, or when the cash does not cover all the fees due (nothing charged, nothing paid out). Refused after the wallet was marked closing (the fees, something in flight at the last check, a billing or payout error), the wallet is open again and the invoices billed stay due. An exit stopped by a crash or a transient database error stays closing: the same --request finishes it on any later day, on its first day's date; ` + "`fundflow run managed`" + ` does so for exits closing longer than 30 minutes; --cancel opens the wallet again instead (exit 0 with {"status": "reopened"}; 1 when the exit finished or started less than 30 minutes ago by the clock it recorded (it may still be running), 2 when the wallet is not closing for --request). Deposits that came while the wallet was closing (wallet_closed breaks) are credited by the next credit run once it is open again. A quarterly fee run lists a closing wallet as skipped ("exit in progress") and bills it once the exit is undone (a finished exit bills to its day itself).`
}

func (c managedExitCmd) Run(a *app) error {
	return a.managed(c.Clock, func(d *deps, md managedDeps) error {
		x := exits(d, md.ledger, &wallet.Fees{Wallet: md.wallet, Store: md.store, Ledger: md.ledger, MaxSkew: 5 * time.Minute})
		if c.Cancel {
			err := x.Cancel(a.ctx, c.Wallet, c.Request, "cli", d.now())
			switch {
			case errors.Is(err, wallet.ErrExitRunning):
				return &exitError{code: 1, err: err}
			case errors.Is(err, wallet.ErrNoExit):
				return &exitError{code: 2, err: err}
			case errors.Is(err, wallet.ErrClosed):
				return &exitError{code: 1, err: err}
			case err != nil:
				return err
			}
			return printJSON(a.stdout, map[string]string{"wallet_id": c.Wallet, "request_id": c.Request, "status": "reopened"})
		}
		out, err := x.Exit(a.ctx, c.Wallet, c.Request, d.now())
		if err != nil {
			return err
		}
		return printJSON(a.stdout, out)
	})
}

type managedWithdrawalCmd struct {
	Cancel managedWithdrawalCancelCmd `cmd:"" help:"cancel a parked withdrawal: its money goes back into the wallet, once; JSON"`
}

type managedWithdrawalCancelCmd struct {
	Wallet  string `required:"" help:"The wallet the withdrawal was asked from." placeholder:"ID"`
	Request string `required:"" help:"The withdrawal's request id." placeholder:"ID"`
}

func (managedWithdrawalCancelCmd) Help() string {
	return `Cancel a withdrawal parked while a restriction blocked the investor's redemptions (status pending): its money goes from withdrawal_held:wallet:<id> back into the wallet, once, with a wallet.withdrawal.cancelled event. The same command again prints the same JSON and moves nothing (the API's POST /v1/wallets/{id}/withdrawals/{wid}/cancel does the same).

Exit 0 with {"wallet_id", "request_id", "amount", "status": "cancelled", "balance"}; 2 when the wallet never made that request; 1 when the withdrawal was paid to the bank already, or is a closed wallet's payout (its exit's, or money passed on after it closed): that one is never cancelled back; the managed run pays it to the investor's default bank account once the restriction lifts (a bank restriction: once a new default account is verified), and alert wallet_closed_payout_parked says so.`
}

func (c managedWithdrawalCancelCmd) Run(a *app) error {
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		out, err := md.wallet.CancelWithdrawal(a.ctx, c.Wallet, c.Request)
		switch {
		case errors.Is(err, wallet.ErrNoWithdrawal):
			return &exitError{code: 2, err: fmt.Errorf("--request: %w: %s of wallet %s", wallet.ErrNoWithdrawal, c.Request, c.Wallet)}
		case errors.Is(err, wallet.ErrNotPending):
			return &exitError{code: 1, err: fmt.Errorf("--request: withdrawal %s was paid to the bank already: %w", c.Request, wallet.ErrNotPending)}
		case errors.Is(err, wallet.ErrClosed):
			return &exitError{code: 1, err: fmt.Errorf("--request: withdrawal %s: %w: %s", c.Request, wallet.ErrClosed, wallet.ClosedPayoutHelp)}
		case err != nil:
			return err
		}
		return printJSON(a.stdout, map[string]string{"wallet_id": out.WalletID, "request_id": out.RequestID, "amount": out.Amount.String(),
			"status": out.Status, "balance": out.Balance.String()})
	})
}

type managedFeesCmd struct {
	Terms managedFeeTermsCmd `cmd:"" help:"set a wallet's fee terms from a date"`
	Value managedFeeValueCmd `cmd:"" help:"value every wallet with fee terms on a day (the daily accrual's AUM), once"`
	Bill  managedFeeBillCmd  `cmd:"" help:"bill a period: the AUM fee (and the performance fee with --crystallise) with GST, one invoice per wallet, paid from the wallet, once"`
	Facts managedFeeFactsCmd `cmd:"" help:"copy wallet flows and fees (wallet.* and fee.charged events) to ClickHouse wallet_facts, once"`
}

type managedFeeFactsCmd struct {
	Batch int `default:"5000" help:"Events copied per pass."`
}

func (c managedFeeFactsCmd) Run(a *app) error {
	return a.managed(time.Time{}, func(d *deps, md managedDeps) error {
		total := 0
		for {
			n, err := md.store.FactsPass(a.ctx, d.ch, c.Batch)
			if err != nil {
				return err
			}
			if total += n; n < c.Batch {
				return printJSON(a.stdout, map[string]int{"events_copied": total})
			}
		}
	})
}

type managedFeeTermsCmd struct {
	Wallet  string    `required:"" help:"The wallet id." placeholder:"ID"`
	From    fund.Date `required:"" help:"In effect from this date (YYYY-MM-DD)." placeholder:"DATE"`
	AUMRate string    `required:"" name:"aum-rate" help:"Annual management fee in percent (\"1.25\")." placeholder:"PCT"`
	Perf    string    `default:"0" help:"Performance fee in percent of the gain above the high-water mark." placeholder:"PCT"`
	Hurdle  string    `default:"0" help:"Hurdle in percent over the period's start value." placeholder:"PCT"`
	// How invoices are paid: the wallet's cash, or units of its folio
	// redeemed FIFO (then paid from their payout).
	ChargeFrom string `name:"charge-from" default:"wallet" enum:"wallet,units" help:"Pay invoices from the wallet's cash or by redeeming units FIFO (wallet, units)."`
}

// feePercents parses fee terms' --aum-rate, --perf and --hurdle (a wallet's
// or a pool's); a flag that is not a number is a usage error (exit 2).
func feePercents(aum, perf, hurdle string) ([3]decimal.Decimal, error) {
	var ps [3]decimal.Decimal
	for i, f := range []struct{ name, v string }{{"--aum-rate", aum}, {"--perf", perf}, {"--hurdle", hurdle}} {
		d, err := decimal.NewFromString(strings.TrimSpace(f.v))
		if err != nil {
			return ps, &exitError{code: 2, err: fmt.Errorf("%s %q: not a number", f.name, f.v)}
		}
		ps[i] = d
	}
	return ps, nil
}

func (c managedFeeTermsCmd) Run(a *app) error {
	ps, err := feePercents(c.AUMRate, c.Perf, c.Hurdle)
	if err != nil {
		return err
	}
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		f := &wallet.Fees{Wallet: md.wallet, Store: md.store}
		t := wallet.FeeTerms{WalletID: c.Wallet, From: c.From, AUMRatePct: ps[0], PerfPct: ps[1], HurdlePct: ps[2], ChargeFrom: c.ChargeFrom}
		if err := f.SetTerms(a.ctx, t); err != nil {
			return &exitError{code: 2, err: err}
		}
		return printJSON(a.stdout, t)
	})
}

type managedFeeValueCmd struct {
	Day fund.Date `required:"" help:"The day valued (YYYY-MM-DD)." placeholder:"DATE"`
}

func (c managedFeeValueCmd) Run(a *app) error {
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		n, err := (&wallet.Fees{Wallet: md.wallet, Store: md.store}).Value(a.ctx, c.Day)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, map[string]any{"day": c.Day, "wallets_valued": n})
	})
}

type managedFeeBillCmd struct {
	From        fund.Date `required:"" help:"The period's first day (YYYY-MM-DD)." placeholder:"DATE"`
	To          fund.Date `required:"" help:"The period's last day." placeholder:"DATE"`
	Wallet      string    `help:"Bill this wallet only (default: every wallet with fee terms)." placeholder:"ID"`
	Crystallise bool      `help:"Crystallise the performance fee at the period's end (yearly, or on exit)."`
	Out         string    `help:"Write each wallet's invoice here as <id>.csv and <id>.pdf (with --wallet)." placeholder:"DIR"`
	Batch       int       `default:"5000" help:"Wallets billed per transaction."`
}

func (c managedFeeBillCmd) Run(a *app) error {
	if c.To.Before(c.From) {
		return &exitError{code: 2, err: fmt.Errorf("--to %s is before --from %s", c.To, c.From)}
	}
	if c.Out != "" && c.Wallet == "" {
		return &exitError{code: 2, err: fmt.Errorf("--out needs --wallet")}
	}
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		f := &wallet.Fees{Wallet: md.wallet, Store: md.store}
		if c.Wallet == "" {
			res, err := f.BillAll(a.ctx, c.From, c.To, c.Crystallise, c.Batch)
			if err != nil {
				return err
			}
			return printJSON(a.stdout, res)
		}
		inv, _, err := f.Bill(a.ctx, c.Wallet, c.From, c.To, c.Crystallise)
		if err != nil {
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

// writeInvoice writes an invoice's CSV and PDF into dir.
func writeInvoice(dir string, inv wallet.FeeInvoice) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		ext   string
		write func(io.Writer, wallet.FeeInvoice) error
	}{{".csv", wallet.WriteInvoiceCSV}, {".pdf", writeInvoicePDF}} {
		var b bytes.Buffer
		if err := f.write(&b, inv); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, inv.ID+f.ext), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("invoice %s: %w", inv.ID, err)
		}
	}
	return nil
}

// writeInvoicePDF is api.RenderInvoicePDF to any writer.
func writeInvoicePDF(w io.Writer, inv wallet.FeeInvoice) error {
	var b bytes.Buffer
	if err := api.RenderInvoicePDF(&b, inv); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// managedDeps are the services a managed command uses.
type managedDeps struct {
	wallet *wallet.Service
	store  walletpg.Store
	ledger *ledger.Service
}

func (a *app) managed(clock time.Time, f func(d *deps, m managedDeps) error) error {
	return a.connected(func(d *deps) error {
		if !clock.IsZero() {
			d.clock = func() time.Time { return clock }
		}
		l, err := moneyLedger(d)
		if err != nil {
			return err
		}
		st := walletpg.Store{Pool: d.pg.Pool}
		return f(d, managedDeps{wallet: &wallet.Service{Store: st, Audit: l.Audit, Now: d.now}, store: st, ledger: l})
	})
}

type managedModelCmd struct {
	File string `arg:"" help:"The model as JSON: {\"id\", \"version\", \"profile\", \"effective\", \"schemes\": [{\"scheme\", \"weight\", \"min\", \"multiple\"}]}." type:"existingfile"`
}

func (c managedModelCmd) Run(a *app) error {
	b, err := os.ReadFile(c.File)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	m, err := managed.ParseModel(b)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", c.File, err)}
	}
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		ai := &wallet.AutoInvest{Wallet: md.wallet, Store: md.store, Ledger: md.ledger}
		if err := ai.PutModel(a.ctx, m); err != nil {
			return &exitError{code: 2, err: err}
		}
		return printJSON(a.stdout, map[string]any{"model": m.ID, "version": m.Version, "effective": m.Effective, "schemes": len(m.Schemes)})
	})
}

type managedQuestionnaireCmd struct {
	File string `arg:"" help:"The questionnaire as JSON (fund/managed.Questionnaire)." type:"existingfile"`
}

func (c managedQuestionnaireCmd) Run(a *app) error {
	b, err := os.ReadFile(c.File)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	q, err := managed.ParseQuestionnaire(b)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", c.File, err)}
	}
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		r := &wallet.Risk{Store: md.store, Audit: md.wallet.Audit}
		if err := r.PutQuestionnaire(a.ctx, q); err != nil {
			return &exitError{code: 2, err: err}
		}
		return printJSON(a.stdout, map[string]any{"questionnaire": q.ID, "version": q.Version, "effective": q.Effective, "questions": len(q.Questions)})
	})
}

type managedAssessCmd struct {
	Investor string            `required:"" help:"The investor." placeholder:"ID"`
	Answer   map[string]string `required:"" help:"An answer, question=value (repeat for each question)." placeholder:"Q=V"`
}

func (c managedAssessCmd) Run(a *app) error {
	return a.managed(time.Time{}, func(d *deps, md managedDeps) error {
		r := &wallet.Risk{Store: md.store, Audit: md.wallet.Audit, Now: d.now}
		p, err := r.Assess(a.ctx, c.Investor, c.Answer)
		var fe *managed.FieldError
		if errors.As(err, &fe) || errors.Is(err, wallet.ErrNoInvestor) || errors.Is(err, wallet.ErrNoQuestionnaire) {
			return &exitError{code: 2, err: err}
		}
		if err != nil {
			return err
		}
		return printJSON(a.stdout, p)
	})
}

type managedWalletCmd struct {
	Wallet   string `required:"" help:"The wallet id." placeholder:"ID"`
	Investor string `required:"" help:"The investor who owns it." placeholder:"ID"`
	Model    string `help:"Auto-invest deposits into this model (with --folio)." placeholder:"ID"`
	Folio    string `help:"The folio auto-invest buys in." placeholder:"FOLIO"`
}

func (c managedWalletCmd) Run(a *app) error {
	if (c.Model == "") != (c.Folio == "") {
		return &exitError{code: 2, err: fmt.Errorf("--model and --folio go together")}
	}
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		if err := md.wallet.Open(a.ctx, c.Wallet, c.Investor); err != nil {
			return err
		}
		if c.Model != "" {
			ai := &wallet.AutoInvest{Wallet: md.wallet, Store: md.store, Ledger: md.ledger}
			err := ai.SetTerms(a.ctx, wallet.Terms{WalletID: c.Wallet, ModelID: c.Model, Folio: c.Folio, Enabled: true})
			if errors.Is(err, wallet.ErrFolioInUse) {
				return &exitError{code: 2, err: fmt.Errorf("--folio: %w", err)}
			}
			if err != nil {
				return err
			}
		}
		v, _, err := md.wallet.View(a.ctx, c.Wallet)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, v)
	})
}

type managedBalanceCmd struct {
	Wallet string `required:"" help:"The wallet id." placeholder:"ID"`
}

func (c managedBalanceCmd) Run(a *app) error {
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		v, ok, err := md.wallet.View(a.ctx, c.Wallet)
		if err != nil {
			return err
		}
		if !ok {
			return &exitError{code: 2, err: fmt.Errorf("--wallet: %w: %s", wallet.ErrNoWallet, c.Wallet)}
		}
		return printJSON(a.stdout, v)
	})
}

type managedRebalanceCmd struct {
	Wallet    string `required:"" help:"The wallet whose folio is rebalanced." placeholder:"ID"`
	Threshold string `default:"5" help:"Drift threshold in percentage points (default: ${default})." placeholder:"PP"`
	Force     bool   `help:"Rebalance even within the threshold (after a model change)."`
	TaxAware  bool   `help:"Bring weights within half the threshold instead of onto the targets, redeeming beyond the unavoidable from the lots with the least short-term gain."`
	DryRun    bool   `help:"Print the plan and the switch requests; place nothing."`
	RunID     string `help:"The run's idempotency key (default: RB-<wallet>-<IST date>: one a day)." placeholder:"ID"`
	// Clock fixes the run's clock: for tests and the demo, never for production.
	Clock time.Time `hidden:"" help:"run as if it were this time (RFC 3339): tests only"`
}

func (managedRebalanceCmd) Help() string {
	return `Measure the wallet's folio against its model (each holding at its latest NAV) and, when some scheme's weight is more than --threshold percentage points off its target (or with --force), switch it back: redemptions paired with purchases into switch orders through the ledger, so lots go FIFO with their exit loads and switch-ins get the NAV rules and stamp duty.

--dry-run prints the plan (drift, trades, switches, each redemption's estimated exit load, short- and long-term gain and tax at the stated rates) and the exact switch requests, and writes nothing. Without it the run is fixed, placed and recorded once per --run-id: the same command again changes nothing (a forced run with nothing to switch and no --run-id is recorded under the model version, RB-<wallet>-<model>-v<version>, so a run later that day still rebalances). Both are refused while a holding's latest NAV is older than the previous business day, as the scheduled drift check skips such a wallet. Exit 0 with JSON, 2 for bad flags or a wallet without a model.`
}

func (c managedRebalanceCmd) Run(a *app) error {
	th, err := decimal.NewFromString(strings.TrimSpace(c.Threshold))
	if err != nil || th.IsNegative() {
		return &exitError{code: 2, err: fmt.Errorf("--threshold %q: want a non-negative number of percentage points", c.Threshold)}
	}
	o := wallet.RebalanceOptions{ThresholdPP: th, Force: c.Force, TaxAware: c.TaxAware}
	return a.managed(c.Clock, func(_ *deps, md managedDeps) error {
		rb := &wallet.Rebalancer{Wallet: md.wallet, Store: md.store, Ledger: md.ledger, MaxSkew: 5 * time.Minute}
		if c.DryRun {
			p, err := rb.Propose(a.ctx, c.Wallet, o)
			if err != nil {
				return rebalanceErr(err)
			}
			return printJSON(a.stdout, p)
		}
		ex, found, err := rb.Execute(a.ctx, c.Wallet, c.RunID, o)
		if err != nil {
			return rebalanceErr(err)
		}
		if !found {
			return printJSON(a.stdout, map[string]any{"wallet_id": c.Wallet, "within_threshold": true})
		}
		n, err := rb.Sweep(context.WithoutCancel(a.ctx), 100)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, map[string]any{"executed": ex, "payouts_swept": n})
	})
}

func rebalanceErr(err error) error {
	if errors.Is(err, wallet.ErrNoWallet) || errors.Is(err, wallet.ErrNoTerms) {
		return &exitError{code: 2, err: fmt.Errorf("--wallet: %w", err)}
	}
	return err
}
