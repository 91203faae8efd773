package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"time"

	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/gatewaysim"
	"github.com/fundflow/fundflow/internal/progress"
	"github.com/fundflow/fundflow/jobs/instalments"
	"github.com/fundflow/fundflow/jobs/money"
	"github.com/fundflow/fundflow/plans"
)

type genSIPsCmd struct {
	Schemes []string `required:"" help:"Two scheme codes the SIPs buy (comma-separated); each needs scheme_plan_terms rows and NAVs over the months." placeholder:"CODE,CODE"`
	End     dateFlag `required:"" help:"The last day replayed." placeholder:"YYYY-MM-DD"`
	Months  int      `default:"13" help:"Months replayed, ending at --end." placeholder:"N"`
}

func (genSIPsCmd) Help() string {
	return `Replays months of SIPs for two demo investors through the real plans service, ledger and webhook intake, on a simulated clock, against the stand-in gateway (internal/gatewaysim) in this process: mandates confirmed by token webhooks, plans registered like POST /v1/plans, then every day the instalment run (generate with the pre-debit notice, present the debits, settle), the gateway's signed payment webhooks, and allotment at each day's NAV. The story: SIP-F1 buys the first scheme monthly on the 5th (₹5,000, stepping up 10 % a year) and the second on the 20th (₹3,000, paused for two instalments in its sixth month); its fourth debit on the 5th fails (insufficient funds); SIP-F2 buys the second scheme every Wednesday (₹1,000) over UPI AutoPay. For demos and load; it writes investors SIP-INV-1/2 and their folios. Prints a JSON summary; progress on stderr.`
}

// sipClock is the replay's clock: every part of the money path reads it.
type sipClock struct{ ns atomic.Int64 }

func (c *sipClock) now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *sipClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

func (c genSIPsCmd) Run(a *app) error {
	if len(c.Schemes) != 2 {
		return usageErr("gen sips: --schemes takes two scheme codes")
	}
	if c.Months < 1 {
		return usageErr("gen sips: --months must be at least 1")
	}
	return a.connected(func(d *deps) error { return c.replay(a.ctx, a, d) })
}

func (c genSIPsCmd) replay(ctx context.Context, a *app, d *deps) error {
	clk := &sipClock{}
	end := c.End.Date
	start := fund.NewDate(end.Year, end.Month-time.Month(c.Months-1), 1)
	clk.set(istAt(start.AddDays(-12), 11, 0))
	d.clock = clk.now
	if d.cfg.Pipelines.Payments == nil {
		return usageErr("gen sips: the config has no pipelines.payments section (its webhook secret signs the stand-in gateway's webhooks)")
	}
	l, err := moneyLedger(d)
	if err != nil {
		return err
	}
	hctx, stop := context.WithCancel(ctx)
	defer stop()
	h, err := money.Handler(hctx, d.moneyDeps(), d.moneyConfig(), l, &webhook.Stats{})
	if err != nil {
		return err
	}
	intake := httptest.NewServer(h)
	defer intake.Close()
	secret := os.Getenv(d.cfg.Pipelines.Payments.SecretEnvs[0])
	sim := &gatewaysim.Server{KeyID: "rzp_demo_sips", KeySecret: "demo-secret", WebhookURL: intake.URL + "/webhooks/razorpay",
		WebhookSecret: []byte(secret), Now: clk.now}
	gw := httptest.NewServer(sim)
	defer gw.Close()
	svc := plansService(d, l) // on d.clock, the replay's
	svc.Debiter = &razorpay.Client{BaseURL: gw.URL, KeyID: sim.KeyID, KeySecret: sim.KeySecret, HTTP: &http.Client{Timeout: 10 * time.Second}}
	job := instalments.Job{Plans: svc, Locker: d.pg, Recorder: d.recorder(), Log: d.log}

	// Investors, folios and mandates (confirmed by the gateway's token webhooks).
	for _, inv := range []struct{ id, folio, name string }{{"SIP-INV-1", "SIP-F1", "Meera Iyer"}, {"SIP-INV-2", "SIP-F2", "Kabir Shah"}} {
		if _, err := d.pg.Pool.Exec(ctx, `INSERT INTO investors (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, inv.id, inv.name); err != nil {
			return err
		}
		if _, err := d.pg.Pool.Exec(ctx, `INSERT INTO folios (folio_no, investor_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, inv.folio, inv.id); err != nil {
			return err
		}
	}
	sim.AddToken(gatewaysim.Token{ID: "token_SIP1", CustomerID: "cust_SIP1", InvestorID: "SIP-INV-1", MaxAmount: fund.AmountFromPaise(5000000),
		Bank: "HDFC", AccountNumber: "50100123456789", IFSC: "HDFC0000123", Beneficiary: "Meera Iyer"})
	sim.AddToken(gatewaysim.Token{ID: "token_SIP2", CustomerID: "cust_SIP2", InvestorID: "SIP-INV-2", Method: "upi", MaxAmount: fund.AmountFromPaise(1500000), Bank: "ICIC"})
	for _, tok := range []string{"token_SIP1", "token_SIP2"} {
		if err := sim.AuthorizeMandate(tok); err != nil {
			return err
		}
		if err := sim.ConfirmMandate(tok); err != nil {
			return err
		}
	}
	if err := sim.Settle(ctx); err != nil {
		return fmt.Errorf("mandate webhooks: %w", err)
	}

	// The plans, registered as POST /v1/plans would.
	s1, s2, from := c.Schemes[0], c.Schemes[1], start.String()
	bodies := []string{
		`{"client_id":"demo-sip-1","kind":"sip","investor_id":"SIP-INV-1","folio":"SIP-F1","scheme_code":"` + s1 + `","mandate_id":"token_SIP1","amount":"5000.00","frequency":"monthly","day_of_month":5,"start_date":"` + from + `","step_up_pct":"10"}`,
		`{"client_id":"demo-sip-2","kind":"sip","investor_id":"SIP-INV-1","folio":"SIP-F1","scheme_code":"` + s2 + `","mandate_id":"token_SIP1","amount":"3000.00","frequency":"monthly","day_of_month":20,"start_date":"` + from + `"}`,
		`{"client_id":"demo-sip-3","kind":"sip","investor_id":"SIP-INV-2","folio":"SIP-F2","scheme_code":"` + s2 + `","mandate_id":"token_SIP2","amount":"1000.00","frequency":"weekly","weekday":"wed","start_date":"` + from + `"}`,
	}
	ids := make([]string, len(bodies))
	for i, b := range bodies {
		req, err := plans.DecodeRegisterRequest([]byte(b))
		if err != nil {
			return fmt.Errorf("plan %d: %w", i+1, err)
		}
		p, _, err := svc.Register(ctx, req)
		if err != nil {
			return fmt.Errorf("register plan %d: %w", i+1, err)
		}
		ids[i] = p.ID
	}

	// Every day: the instalment run at 09:00 IST; the gateway's outcomes
	// at 10:00 (before the 3 PM cut-off: that day's NAV); allotment; settle.
	failOn := fund.NewDate(start.Year, start.Month+3, 1)  // the 4th debit on the 5th fails
	pauseOn := fund.NewDate(start.Year, start.Month+5, 1) // plan 2 paused for two instalments
	bar := progress.NewCounter(a.stderr, "gen sips", "days", int64(end.DaysSince(start)+1), 5*time.Second)
	for day := start; !day.After(end); day = day.AddDays(1) {
		clk.set(istAt(day, 9, 0))
		if day == pauseOn {
			if _, err := svc.Pause(ctx, ids[1], 2); err != nil {
				return fmt.Errorf("pause: %w", err)
			}
		}
		if day.Year == failOn.Year && day.Month == failOn.Month && day.Day >= 5 && day.Day <= 9 {
			sim.FailToken("token_SIP1", "BAD_REQUEST_ERROR", "Payment failed due to insufficient balance in the account")
		} else {
			sim.FailToken("token_SIP1", "", "")
		}
		if _, err := job.Steps(ctx); err != nil {
			return fmt.Errorf("%s: instalment run: %w", day, err)
		}
		clk.set(istAt(day, 10, 0))
		if err := sim.Settle(ctx); err != nil {
			return fmt.Errorf("%s: gateway webhooks: %w", day, err)
		}
		if _, err := l.AllotPending(ctx, 1000); err != nil {
			return fmt.Errorf("%s: allot: %w", day, err)
		}
		clk.set(istAt(day, 10, 5))
		if _, err := job.Steps(ctx); err != nil {
			return fmt.Errorf("%s: settle: %w", day, err)
		}
		bar.Update(int64(day.DaysSince(start) + 1))
	}
	bar.Done(int64(end.DaysSince(start) + 1))
	return c.summary(ctx, a, d, ids)
}

// istAt is hh:mm IST on d.
func istAt(d fund.Date, hh, mm int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hh, mm, 0, 0, fund.IST())
}

func (genSIPsCmd) summary(ctx context.Context, a *app, d *deps, ids []string) error {
	type planSum struct {
		ID          string           `json:"plan_id"`
		Status      string           `json:"status"`
		Instalments map[string]int64 `json:"instalments"`
	}
	out := struct {
		Plans    []planSum `json:"plans"`
		Allotted int64     `json:"sip_purchases_allotted"`
	}{}
	for _, id := range ids {
		ps := planSum{ID: id, Instalments: map[string]int64{}}
		if err := d.pg.Pool.QueryRow(ctx, `SELECT status FROM plans WHERE id = $1`, id).Scan(&ps.Status); err != nil {
			return err
		}
		rows, err := d.pg.Pool.Query(ctx, `SELECT status, count(*) FROM plan_instalments WHERE plan_id = $1 GROUP BY 1`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var st string
			var n int64
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			ps.Instalments[st] = n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		out.Plans = append(out.Plans, ps)
	}
	if err := d.pg.Pool.QueryRow(ctx, `SELECT count(*) FROM plan_instalments WHERE status = 'allotted' AND plan_id = ANY($1)`, ids).Scan(&out.Allotted); err != nil {
		return err
	}
	if out.Allotted == 0 {
		return errors.New("gen sips: no instalment was allotted (are there NAVs for the schemes over the months?)")
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
