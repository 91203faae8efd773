package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/internal/gatewaysim"
	"github.com/fundflow/fundflow/internal/kragen"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/jobs/kra"
	"github.com/fundflow/fundflow/jobs/kycbank"
	"github.com/fundflow/fundflow/jobs/kycmaster"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/scheduler"
)

// kycCmd is `fundflow kyc`: the KYC gate's feed and the investor reports
// (issue 23).
type kycCmd struct {
	Load       kycLoadCmd       `cmd:"" help:"load the waiting KRA status and PAN-Aadhaar files (pipelines.kra) and apply them as the ledger's kyc restrictions; then the kyc_missing sweep and the refunds after refund_after"`
	Report     kycReportCmd     `cmd:"" help:"investors by KYC status and reason, folios without nomination or opt-out, investors missing a FATCA declaration, bank accounts not verified, payouts held for the bank account"`
	GatewaySim kycGatewaySimCmd `cmd:"" name:"gateway-sim" help:"for demos and development: the stand-in gateway's penny drop (POST /v1/fund_accounts/validations, Razorpay's wire format) with signed fund_account.validation.* webhooks"`
}

// kycGatewaySimCmd serves the stand-in gateway (internal/gatewaysim) until
// interrupted: what the demo's bank verification talks to.
type kycGatewaySimCmd struct {
	Listen     string   `default:"127.0.0.1:18095" help:"host:port to serve on."`
	WebhookURL string   `name:"webhook-url" required:"" help:"Where the validation webhooks are POSTed (serve's /webhooks/razorpayx/validations)."`
	SecretEnv  string   `name:"secret-env" default:"FUNDFLOW_RAZORPAYX_WEBHOOK_SECRET" help:"Variable holding the webhook secret."`
	KeyIDEnv   string   `name:"key-id-env" default:"FUNDFLOW_RZP_KEY_ID" help:"Variable holding the API key id callers must present."`
	KeySecEnv  string   `name:"key-secret-env" default:"FUNDFLOW_RZP_KEY_SECRET" help:"Variable holding the API key secret."`
	Bank       []string `help:"An account the stand-in's banks hold, IFSC:ACCOUNT:REGISTERED NAME (repeatable)." placeholder:"IFSC:ACCOUNT:NAME"`
}

func (c kycGatewaySimCmd) Run(a *app) error {
	secret, id, key := os.Getenv(c.SecretEnv), os.Getenv(c.KeyIDEnv), os.Getenv(c.KeySecEnv)
	if secret == "" || id == "" || key == "" {
		return usageErr("set %s, %s and %s", c.SecretEnv, c.KeyIDEnv, c.KeySecEnv)
	}
	sim := &gatewaysim.Server{KeyID: id, KeySecret: key, WebhookURL: c.WebhookURL, WebhookSecret: []byte(secret), AutoSettle: true}
	for _, b := range c.Bank {
		parts := strings.SplitN(b, ":", 3)
		if len(parts) != 3 {
			return usageErr("--bank %q: want IFSC:ACCOUNT:NAME", b)
		}
		sim.AddBank(gatewaysim.Bank{IFSC: parts[0], AccountNumber: parts[1], RegisteredName: parts[2]})
	}
	srv := &http.Server{Addr: c.Listen, Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-a.ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	fmt.Fprintf(a.stdout, "stand-in gateway on http://%s, webhooks to %s\n", c.Listen, c.WebhookURL)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		return err
	}
	for _, err := range sim.Wait() {
		fmt.Fprintln(a.stdout, "webhook not delivered:", err)
	}
	return nil
}

// sealer is the PII key the investor master seals and fingerprints with
// (serve.api.pii_key_env): without it no PAN can be matched.
func sealer(d *deps) (*pii.Sealer, error) {
	env := d.cfg.Serve.API.PIIKeyEnv
	if os.Getenv(env) == "" {
		return nil, usageErr("%s is not set: the KYC gate matches PANs by their keyed fingerprints", env)
	}
	return pii.FromEnv(os.Getenv, env)
}

type kycLoadCmd struct{}

func (kycLoadCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		j, err := kraJob(d)
		if err != nil {
			return err
		}
		var out kra.Outcome
		if err := supervise.Single(a.ctx, d.pg, kra.Name, func(ctx context.Context) (err error) { out, err = j.Run(ctx); return err }); err != nil {
			return err
		}
		return printJSON(a.stdout, out)
	})
}

// kraJob is the kra job from the config: the gate, and bank verification
// when pipelines.kra.banks is set.
func kraJob(d *deps) (kra.Job, error) {
	c := d.cfg.Pipelines.KRA
	if c == nil {
		return kra.Job{}, usageErr("kra is not configured: add a pipelines.kra section to the config")
	}
	s, err := sealer(d)
	if err != nil {
		return kra.Job{}, err
	}
	led, err := moneyLedger(d)
	if err != nil {
		return kra.Job{}, err
	}
	gate := &investors.Gate{Store: pgstore.Store{Pool: d.pg.Pool}, Ledger: led, PII: s, Parallel: c.Shards, PartSize: c.PartSize, Now: d.now, Log: d.log}
	return kra.Job{Config: c, PG: d.pg, Gate: gate, Banks: kycBanks(d, led, s), Ledger: led, CH: d.ch, Metrics: d.metrics, Now: d.now, Log: d.log}, nil
}

// kycBanks is bank verification from pipelines.kra.banks (nil when off).
// Without the gateway's keys in the environment no penny drop is asked,
// but the restrictions are still reconciled and webhooks applied.
func kycBanks(d *deps, led investors.Restrictor, s *pii.Sealer) *investors.Banks {
	c := d.cfg.Pipelines.KRA
	if c == nil || c.Banks == nil {
		return nil
	}
	b := c.Banks
	banks := &investors.Banks{Store: pgstore.Store{Pool: d.pg.Pool}, Ledger: led, PII: s, SourceAccount: b.SourceAccount,
		MinNameMatch: b.MinNameMatch, Now: d.now, Log: d.log}
	g := b.Gateway
	if id, secret := os.Getenv(g.KeyIDEnv), os.Getenv(g.KeySecretEnv); id != "" && secret != "" {
		banks.Gateway = &razorpay.Client{BaseURL: g.BaseURL, KeyID: id, KeySecret: secret, HTTP: &http.Client{Timeout: g.Timeout}}
	} else {
		d.log.Warn("bank verification: no gateway keys: no penny drop is asked", "env", g.KeyIDEnv+", "+g.KeySecretEnv)
	}
	return banks
}

// kycWebhooks are the bank account validation webhooks' receiver, mounted
// on the payment webhooks' listener when pipelines.kra.banks is set (nil
// otherwise, or when what it needs is missing: logged).
func kycWebhooks(d *deps) map[string]http.Handler {
	c := d.cfg.Pipelines.KRA
	if c == nil || c.Banks == nil {
		return nil
	}
	var secrets [][]byte
	for _, e := range c.Banks.SecretEnvs {
		if v := os.Getenv(e); v != "" {
			secrets = append(secrets, []byte(v))
		}
	}
	s, err := sealer(d)
	if err == nil && len(secrets) == 0 {
		err = fmt.Errorf("no validation webhook secret: set %v", c.Banks.SecretEnvs)
	}
	var led *ledger.Service
	if err == nil {
		led, err = moneyLedger(d)
	}
	if err != nil {
		d.log.Error("bank account validation webhooks not served", "path", kycbank.Path, "err", err)
		return nil
	}
	return map[string]http.Handler{kycbank.Path: &kycbank.Handler{Secrets: secrets, Banks: kycBanks(d, led, s), Log: d.log}}
}

// startKYCStream consumes the investor master's topic
// (pipelines.kra.investor_topic) until ctx ends or the returned function
// is called (it stops the consumer and waits for it), when Kafka is
// configured.
func startKYCStream(ctx context.Context, d *deps) (stop func(), err error) {
	c := d.cfg.Pipelines.KRA
	brokers := kafkaBrokers(d)
	if c == nil || c.InvestorTopic == "" || len(brokers) == 0 {
		return func() {}, nil
	}
	s, err := sealer(d)
	if err != nil {
		return nil, err
	}
	src, err := kafka.NewSource(kafka.Config{Brokers: brokers, Topic: c.InvestorTopic, GroupID: c.InvestorGroup, Batch: 500,
		ErrorLog: func(msg string, args ...any) { d.log.Warn("kafka consumer: "+msg, args...) }})
	if err != nil {
		return nil, err
	}
	svc := &investors.Service{Store: pgstore.Store{Pool: d.pg.Pool}, PII: s, Now: d.now, Log: d.log}
	p := kycmaster.Pipeline(src, svc, d.pg, d.metrics, d.log)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := p.Run(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("investor master topic stopped", "topic", c.InvestorTopic, "err", err)
		}
	}()
	d.log.Info("consuming the investor master topic", "topic", c.InvestorTopic, "group", c.InvestorGroup)
	return func() { cancel(); <-done }, nil
}

// kycScheduled is the kra job on pipelines.kra.schedule, under its
// single-runner lock, when it has one.
func kycScheduled(d *deps) ([]scheduler.Job, error) {
	c := d.cfg.Pipelines.KRA
	if c == nil || c.Schedule == "" {
		return nil, nil
	}
	j, err := kraJob(d)
	if err != nil {
		return nil, err
	}
	return []scheduler.Job{supervise.Scheduled(d.pg, kra.Name, c.Schedule, func(ctx context.Context) error { _, err := j.Run(ctx); return err })}, nil
}

type kycReportCmd struct {
	Kind string `default:"all" enum:"all,status,nomination,fatca,banks,payouts" help:"Which report: all, status, nomination, fatca, banks, payouts."`
}

// The reports' queries: facts the investor master and the gate keep in the
// clear (no PII is opened).
var kycReports = []struct{ kind, title, sql string }{
	{"status", "investors by KYC status and reason", `SELECT coalesce(nullif(k.status, ''), 'no_record') AS status,
		coalesce(r.reason, '-') AS reason, count(*) FROM investor_profiles p
		LEFT JOIN kyc_status k ON k.investor_id = p.investor_id
		LEFT JOIN investor_restrictions r ON r.investor_id = p.investor_id AND r.source = 'kyc'
		GROUP BY 1, 2 ORDER BY 1, 2`},
	{"nomination", "folios without nomination or opt-out", `SELECT f.folio_no, f.investor_id, coalesce(p.nomination, 'no_record')
		FROM folios f LEFT JOIN investor_profiles p ON p.investor_id = f.investor_id
		WHERE p.investor_id IS NULL -- never onboarded: nothing on file
		   OR (p.nomination = 'not_applicable' AND p.tax_status IN ('resident_individual', 'nri'))
		ORDER BY 1`},
	{"fatca", "investors missing a FATCA declaration", `SELECT i.id, CASE WHEN p.investor_id IS NULL THEN 'no_record' ELSE 'not_declared' END
		FROM investors i LEFT JOIN investor_profiles p ON p.investor_id = i.id
		WHERE p.investor_id IS NULL OR NOT p.fatca_declared ORDER BY 1`},
	{"banks", "bank accounts not verified (penny drop: unverified, pending or failed; name-match score)", `SELECT investor_id, ifsc, account_mask,
		CASE WHEN is_default THEN 'default' ELSE '' END, verification, coalesce(name_match_score::text, '-'), coalesce(nullif(verify_reason, ''), '-')
		FROM investor_bank_accounts WHERE removed_at IS NULL AND verification <> 'verified' ORDER BY 1, 2, 3`},
	// Redemptions are held as order legs (the bank restriction); the
	// payout account balances (IDCW, switch payouts) and refunds due as
	// payout holds, raised and released by the bank verification pass.
	{"payouts", "payouts held for the bank account (open payout holds: payout account balances and refunds due)", `
		SELECT investor_id, reason, kind, subject, amount::numeric(18,2)::text,
			to_char(raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
		FROM payout_holds WHERE released_at IS NULL ORDER BY 1, 3, 4`},
}

func (c kycReportCmd) Run(a *app) error {
	_, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	return kycReport(a.ctx, pool, c.Kind, a.stdout)
}

func kycReport(ctx context.Context, pool *pgxpool.Pool, kind string, w interface{ Write([]byte) (int, error) }) error {
	for _, r := range kycReports {
		if kind != "all" && kind != r.kind {
			continue
		}
		rows, err := pool.Query(ctx, r.sql)
		if err != nil {
			return fmt.Errorf("report %s: %w", r.kind, err)
		}
		fmt.Fprintf(w, "# %s\n", r.title)
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		n := 0
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				rows.Close()
				return err
			}
			for i, v := range vals {
				if i > 0 {
					fmt.Fprint(tw, "\t")
				}
				fmt.Fprint(tw, v)
			}
			fmt.Fprintln(tw)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("report %s: %w", r.kind, err)
		}
		_ = tw.Flush()
		fmt.Fprintf(w, "(%d rows)\n\n", n)
	}
	return nil
}

// genKRACmd is `fundflow gen kra`: KRA files for the onboarded investors.
type genKRACmd struct {
	Out         string  `required:"" help:"Folder to write kra_status.txt, pan_aadhaar.txt and truth.csv into (created if missing)." placeholder:"DIR"`
	Seed        uint64  `default:"1" help:"Random seed."`
	Hold        float64 `default:"0.1" help:"Fraction of investors put on hold or under process."`
	Reject      float64 `default:"0.05" help:"Fraction rejected."`
	Inoperative float64 `default:"0.05" help:"Fraction whose PAN is inoperative (not linked to Aadhaar)."`
	Bad         float64 `default:"0.02" help:"Fraction given an extra bad row (quarantined)."`
	Unknown     int     `default:"2" help:"Rows for PANs no investor has."`
}

func (c genKRACmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		s, err := sealer(d)
		if err != nil {
			return err
		}
		invs, err := onboardedPANs(a.ctx, d.pg.Pool, &investors.Service{Store: pgstore.Store{Pool: d.pg.Pool}, PII: s})
		if err != nil {
			return err
		}
		if err := os.MkdirAll(c.Out, 0o755); err != nil {
			return err
		}
		files := map[string]*os.File{}
		for _, n := range []string{"kra_status.txt", "pan_aadhaar.txt", "truth.csv"} {
			f, err := os.Create(filepath.Join(c.Out, n))
			if err != nil {
				return err
			}
			defer f.Close()
			files[n] = f
		}
		sum, err := kragen.Write(files["kra_status.txt"], files["pan_aadhaar.txt"], files["truth.csv"], invs, kragen.Options{Seed: c.Seed,
			Hold: c.Hold, Reject: c.Reject, Inoperative: c.Inoperative, Bad: c.Bad, Unknown: c.Unknown, At: d.now()})
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := f.Sync(); err != nil {
				return err
			}
		}
		return printJSON(a.stdout, sum)
	})
}

// onboardedPANs opens every onboarded investor's record for its PAN.
func onboardedPANs(ctx context.Context, pool *pgxpool.Pool, svc *investors.Service) ([]kragen.Investor, error) {
	rows, err := pool.Query(ctx, `SELECT investor_id FROM investor_profiles WHERE pan_fp <> '' ORDER BY investor_id`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make([]kragen.Investor, 0, len(ids))
	for _, id := range ids {
		r, err := svc.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, kragen.Investor{ID: id, PAN: r.Investor.PAN})
	}
	return out, nil
}
