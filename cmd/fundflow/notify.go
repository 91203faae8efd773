package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/alecthomas/kong"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/jobs/notifyjob"
	"github.com/fundflow/fundflow/jobs/notifyprefs"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/notify"
	"github.com/fundflow/fundflow/notify/pgstore"
	"github.com/fundflow/fundflow/notify/twiliosim"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	sinkkafka "github.com/fundflow/fundflow/sinks/kafka"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// notifyCmd is the notifications pipeline's command group.
type notifyCmd struct {
	Run       notifyRunCmd       `cmd:"" help:"plan the outbox's events into notifications and send what is due"`
	Replay    notifyReplayCmd    `cmd:"" help:"send dead-lettered notifications again"`
	Status    notifyStatusCmd    `cmd:"" help:"notifications per status, JSON"`
	Prefs     notifyPrefsCmd     `cmd:"" help:"consume the platform's preference changes from Kafka (notify.preferences) until stopped"`
	Receipts  notifyReceiptsCmd  `cmd:"" help:"ask the SMS gateway about the SMS whose delivery receipt has not come, and record the answers"`
	TwilioSim notifyTwilioSimCmd `cmd:"" name:"twilio-sim" help:"run the Twilio stand-in (tests' and the demo's SMS gateway) until stopped"`
}

type notifyReceiptsCmd struct {
	notifyProviders
	After time.Duration `default:"10m" help:"Ask about SMS sent longer ago than this without a receipt (default: ${default})."`
}

func (notifyReceiptsCmd) Help() string {
	return "A status callback (DLR) can be lost; this fetches each SMS still 'sent' after --after from the gateway (Twilio: GET …/Messages/{Sid}.json) and records a final status as the callback would have: delivered, or failed with a dead letter. Serve runs it every notify.receipts_every. Prints {\"recorded\": N}."
}

func (c notifyReceiptsCmd) Run(a *app) error {
	_, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	st := pgstore.Store{Pool: pool}
	d, closeSenders, err := c.deliverer(st)
	if err != nil {
		return err
	}
	defer closeSenders()
	poller, ok := d.Senders[notify.SMS].(notify.ReceiptPoller)
	if !ok {
		return usageErr("notify receipts: no SMS gateway: set --twilio-account-sid ($FUNDFLOW_TWILIO_ACCOUNT_SID)")
	}
	after := c.After
	if after <= 0 {
		after = time.Nanosecond // every SMS sent: Receipts reads 0 as its default
	}
	n, err := notifyjob.Receipts{Store: st, Poller: poller, After: after}.Pass(a.ctx)
	if err != nil {
		return err
	}
	return json.NewEncoder(a.stdout).Encode(map[string]int{"recorded": n})
}

type notifyTwilioSimCmd struct {
	Listen       string        `default:"127.0.0.1:18095" help:"Address to listen on (default: ${default})." placeholder:"ADDR"`
	AccountSid   string        `name:"account-sid" default:"ACdemo" help:"The account it answers for (default: ${default})." placeholder:"SID"`
	TokenEnv     string        `name:"auth-token-env" default:"FUNDFLOW_TWILIO_AUTH_TOKEN" help:"The variable holding its auth token (default: ${default})." placeholder:"VAR"`
	DeliverAfter time.Duration `default:"1s" help:"Each message is delivered this long after it is accepted: its status, and a signed status callback when it has one (0: never; default: ${default})."`
}

func (notifyTwilioSimCmd) Help() string {
	return "Speaks Twilio's Messages API (create, list, fetch) with basic auth, for a demo or a manual test without a Twilio account; runs until interrupted. Not a production component."
}

func (c notifyTwilioSimCmd) Run(a *app) error {
	token := os.Getenv(c.TokenEnv)
	if token == "" {
		return usageErr("notify twilio-sim: $%s is empty", c.TokenEnv)
	}
	sim := twiliosim.New(c.AccountSid, token)
	sim.DeliverAfter(c.DeliverAfter)
	srv := &http.Server{Addr: c.Listen, Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	a.log.Info("twilio stand-in listening", "addr", c.Listen, "account", c.AccountSid)
	return supervise.HTTP(a.ctx, srv)
}

type notifyPrefsCmd struct {
	Group string `default:"fundflow-notify-prefs" help:"Consumer group (default: ${default})." placeholder:"GROUP"`
}

func (notifyPrefsCmd) Help() string {
	return "Reads topic notify.preferences (key: investor id; value: the PUT /v1/investors/{id}/notification-preferences body, investor_id optional) with the services' Kafka brokers, stores each preference and commits the offsets after; a bad message goes to notify_dead_letters naming the field. Runs until interrupted."
}

func (c notifyPrefsCmd) Run(a *app) error {
	cfg, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	brokers := sinkkafka.ParseBrokers(os.Getenv(cfg.Services.KafkaBrokersEnv))
	if len(brokers) == 0 {
		return usageErr("notify prefs: no Kafka brokers in $%s", cfg.Services.KafkaBrokersEnv)
	}
	src, err := kafka.NewSource(kafka.Config{Brokers: brokers, Topic: notifyprefs.Topic, GroupID: c.Group})
	if err != nil {
		return err
	}
	defer src.Close()
	j := notifyprefs.Job{Source: src, Store: pgstore.Store{Pool: pool}, Log: a.log}
	for {
		stored, dead, err := j.Batch(a.ctx)
		if err != nil {
			if a.ctx.Err() != nil {
				return nil
			}
			return err
		}
		a.log.Info("notify prefs", "stored", stored, "dead", dead)
	}
}

// notifyProviders are where messages go; every value can come from the
// environment scripts/services.sh writes.
type notifyProviders struct {
	SMTPAddr       string `name:"smtp-addr" env:"FUNDFLOW_SMTP_ADDR" help:"SMTP server host:port (STARTTLS required)." placeholder:"ADDR"`
	SMTPUser       string `name:"smtp-user" env:"FUNDFLOW_SMTP_USER" help:"SMTP AUTH user." placeholder:"USER"`
	SMTPPasswordEv string `name:"smtp-password-env" default:"FUNDFLOW_SMTP_PASSWORD" help:"The variable holding the SMTP password (default: ${default})." placeholder:"VAR"`
	SMTPCA         string `name:"smtp-ca" env:"FUNDFLOW_SMTP_CA" help:"PEM file of the SMTP server's certificate authority (default: the system's)." placeholder:"FILE"`
	SMTPFrom       string `name:"smtp-from" env:"FUNDFLOW_SMTP_FROM" default:"notify@fundflow.example" help:"Sender address (default: ${default})." placeholder:"ADDR"`
	MailpitAPI     string `name:"mailpit-api" env:"FUNDFLOW_MAILPIT_API" help:"Mailpit's API: interrupted emails are looked up there by Message-ID (without it they fail, never resent)." placeholder:"URL"`
	TwilioURL      string `name:"twilio-url" env:"FUNDFLOW_TWILIO_URL" default:"https://api.twilio.com" help:"Twilio API base URL (default: ${default})." placeholder:"URL"`
	TwilioSid      string `name:"twilio-account-sid" env:"FUNDFLOW_TWILIO_ACCOUNT_SID" help:"Twilio account SID; none: no SMS." placeholder:"SID"`
	TwilioTokenEnv string `name:"twilio-auth-token-env" default:"FUNDFLOW_TWILIO_AUTH_TOKEN" help:"The variable holding the Twilio auth token (default: ${default})." placeholder:"VAR"`
	TwilioFrom     string `name:"twilio-from" env:"FUNDFLOW_TWILIO_FROM" help:"SMS sender number." placeholder:"NUMBER"`
	FCMURL         string `name:"fcm-url" env:"FUNDFLOW_FCM_URL" default:"https://fcm.googleapis.com" help:"FCM HTTP v1 base URL (default: ${default})." placeholder:"URL"`
	FCMProject     string `name:"fcm-project" env:"FUNDFLOW_FCM_PROJECT" help:"Firebase project id; none: no push." placeholder:"ID"`
	FCMTokenEnv    string `name:"fcm-token-env" default:"FUNDFLOW_FCM_ACCESS_TOKEN" help:"The variable holding an OAuth 2 access token for FCM (default: ${default})." placeholder:"VAR"`
	TwilioCallback string `name:"twilio-status-callback" env:"FUNDFLOW_TWILIO_STATUS_CALLBACK" help:"Our DLR webhook URL (POST /v1/notify/twilio/status)." placeholder:"URL"`
}

func (p notifyProviders) deliverer(st pgstore.Store) (*notify.Deliverer, func(), error) {
	d := &notify.Deliverer{Store: st, Senders: map[notify.Channel]notify.Sender{}, Confirmers: map[notify.Channel]notify.Confirmer{},
		Backoff: notify.Backoff{Base: 2 * time.Second, Max: 10 * time.Minute}}
	closers := func() {}
	if p.SMTPAddr != "" {
		host, _, err := net.SplitHostPort(p.SMTPAddr)
		if err != nil {
			return nil, nil, usageErr("notify: --smtp-addr: %v", err)
		}
		tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if p.SMTPCA != "" {
			pem, err := os.ReadFile(p.SMTPCA)
			if err != nil {
				return nil, nil, fmt.Errorf("notify: --smtp-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("notify: --smtp-ca %s: no PEM certificate", p.SMTPCA)
			}
		}
		s := &notify.SMTP{Addr: p.SMTPAddr, User: p.SMTPUser, Password: os.Getenv(p.SMTPPasswordEv), TLS: tc, From: p.SMTPFrom, Timeout: 30 * time.Second}
		d.Senders[notify.Email] = s
		closers = func() { s.Close() }
		if p.MailpitAPI != "" {
			d.Confirmers[notify.Email] = notify.MailpitConfirmer{API: p.MailpitAPI}
		}
	}
	if p.TwilioSid != "" {
		tw := &notify.Twilio{BaseURL: p.TwilioURL, AccountSid: p.TwilioSid, AuthToken: os.Getenv(p.TwilioTokenEnv), From: p.TwilioFrom, StatusCallback: p.TwilioCallback}
		d.Senders[notify.SMS] = tw
		d.Confirmers[notify.SMS] = notify.TwilioConfirmer{T: tw}
	}
	if p.FCMProject != "" {
		env := p.FCMTokenEnv
		d.Senders[notify.Push] = &notify.FCM{BaseURL: p.FCMURL, Project: p.FCMProject, Token: func(context.Context) (string, error) {
			if v := os.Getenv(env); v != "" {
				return v, nil
			}
			return "", fmt.Errorf("$%s is not set", env)
		}}
		d.Confirmers[notify.Push] = notify.FCMResend{}
	}
	if len(d.Senders) == 0 {
		return nil, nil, usageErr("notify: no provider: set --smtp-addr ($FUNDFLOW_SMTP_ADDR) and/or --twilio-account-sid")
	}
	return d, closers, nil
}

type notifyRunCmd struct {
	notifyProviders
	Follow      bool          `help:"Keep running as serve runs it: the planner on Kafka when the config's brokers are set (else the outbox), the sender and the SMS receipt poll every --interval."`
	Interval    time.Duration `default:"2s" help:"Pause between passes with --follow (default: ${default})."`
	Batch       int           `default:"500" help:"Events per planning batch and notifications per send batch (default: ${default})."`
	Workers     int           `default:"16" help:"Concurrent sends (default: ${default})."`
	MaxAttempts int           `help:"Attempts before dead letter (default: the config's notify.max_attempts, else 6)."`
	Facts       bool          `help:"Copy each status reached to ClickHouse notification_facts (delivery rates by channel and provider)."`
	DigestOver  int           `default:"-1" help:"Per-investor rate limit: more non-urgent messages than this to one investor on one channel in a batch go as one digest; 0: none (default: the config's notify.digest_over, else 5)."`
}

func (notifyRunCmd) Help() string {
	return `Takes the notify lock (one process sends at a time), plans every outbox event not yet notified on the engine (each batch's notifications and dead letters in one transaction, then the outbox rows marked; unknown investor, malformed event or template error → dead letter), settles the notifications a killed run left 'sending' (asks the provider by Message-ID or by the SMS's reference: arrived → sent, not arrived → queued; no way to ask → notify.unconfirmed: fail, replayable, or resend) and sends what is due, retrying with jittered backoff. Without --follow it stops when nothing is due now and prints a JSON summary.`
}

func (c notifyRunCmd) Run(a *app) error {
	cfg, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	var ch clickhouse.Conn
	if c.Facts {
		if ch, err = clickhouse.Connect(a.ctx, os.Getenv(cfg.Services.ClickHouseURLEnv)); err != nil {
			return err
		}
		defer ch.Close()
	}
	pg := &postgres.Store{Pool: pool}
	o := notifyOptions{Batch: c.Batch, Workers: c.Workers, MaxAttempts: c.MaxAttempts, DigestOver: c.DigestOver, Every: c.Interval}
	svc, closeSenders, err := notifyService(a.g.Config, cfg, pg, ch, c.notifyProviders, o, nil, a.log)
	if err != nil {
		return err
	}
	defer closeSenders()
	if c.Follow {
		err := svc.Serve(a.ctx)
		if errors.Is(err, context.Canceled) || a.ctx.Err() != nil {
			return nil
		}
		return err
	}
	var sum notifyjob.Summary
	err = supervise.Single(a.ctx, pg, notifyjob.Name, func(ctx context.Context) error {
		st, err := svc.Planner.Outbox(false).Run(ctx)
		if err != nil {
			return err
		}
		if sum, err = svc.Sender.Pass(ctx); err != nil {
			return err
		}
		sum.Planned = int(st.In)
		return nil
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(a.stdout).Encode(sum)
}

// notifyOptions are the run's settings beside the providers.
type notifyOptions struct {
	Batch, Workers, MaxAttempts int
	DigestOver                  int // -1: the config's
	Every                       time.Duration
}

// notifyService assembles the pipeline (planner, sender, receipt poll)
// from the config, the providers and the connections, for `notify run`
// and serve; the returned function closes the senders' connections.
func notifyService(cfgPath string, cfg *config.Config, pg *postgres.Store, ch clickhouse.Conn, p notifyProviders, o notifyOptions,
	metrics *pipelines.Metrics, log *slog.Logger) (notifyjob.Service, func(), error) {
	st := pgstore.Store{Pool: pg.Pool}
	d, closeSenders, err := p.deliverer(st)
	if err != nil {
		return notifyjob.Service{}, nil, err
	}
	d.Workers, d.Batch, d.MaxAttempts, d.DigestOver, d.Log = o.Workers, o.Batch, o.MaxAttempts, o.DigestOver, log
	ts, err := notifyTemplates(cfgPath, cfg)
	if err != nil {
		closeSenders()
		return notifyjob.Service{}, nil, &exitError{code: 2, err: err}
	}
	// The flags, else the file's settings, else the defaults.
	if d.DigestOver < 0 {
		d.DigestOver = 5
		if cfg.Notify != nil {
			d.DigestOver = cfg.Notify.DigestOver
		}
	}
	if d.MaxAttempts == 0 && cfg.Notify != nil {
		d.MaxAttempts = cfg.Notify.MaxAttempts
	}
	if cfg.Notify != nil {
		d.Unconfirmed = notify.Unconfirmed(cfg.Notify.Unconfirmed)
		if o.Every == 0 {
			o.Every = cfg.Notify.Every
		}
	}
	svc := notifyjob.Service{
		PG:      pg,
		Planner: notifyjob.Planner{PG: pg, Planner: notify.Planner{Templates: ts, RM: st, Prefs: st}, Batch: o.Batch, Metrics: metrics, Log: log},
		Sender:  notifyjob.Sender{Store: st, D: d, Batch: o.Batch},
		Metrics: metrics,
		Log:     log,
	}
	svc.Every = o.Every
	if ch != nil {
		svc.Sender.CH = ch
	}
	if poller, ok := d.Senders[notify.SMS].(notify.ReceiptPoller); ok {
		svc.Receipts = &notifyjob.Receipts{Store: st, Poller: poller, Batch: o.Batch}
		if cfg.Notify != nil {
			svc.ReceiptsEvery = cfg.Notify.ReceiptsEvery
		}
	}
	if cfg.Services.KafkaBrokersEnv != "" {
		svc.Planner.Brokers = sinkkafka.ParseBrokers(os.Getenv(cfg.Services.KafkaBrokersEnv))
	}
	return svc, closeSenders, nil
}

// startNotify runs the notifications pipeline beside serve's other work
// when the config has a notify section (planner, sender and receipt poll,
// each a supervise.Every loop in the job metrics; the providers from the
// environment, as `notify run` reads them); the returned function stops it.
func startNotify(ctx context.Context, cfgPath string, d *deps) (func(), error) {
	if d.cfg.Notify == nil {
		return func() {}, nil
	}
	var p notifyProviders
	k, err := kong.New(&p, kong.Name("notify"))
	if err == nil {
		_, err = k.Parse(nil) // the providers' env and defaults only
	}
	if err != nil {
		return nil, fmt.Errorf("notify: providers from the environment: %w", err)
	}
	svc, closeSenders, err := notifyService(cfgPath, d.cfg, d.pg, d.ch, p, notifyOptions{Batch: 500, Workers: 16, DigestOver: -1}, d.metrics, d.log)
	if err != nil {
		return nil, fmt.Errorf("serve: the config has a notify section: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer closeSenders()
		if err := svc.Serve(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("notifications stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// notifyTemplates loads the config's notify.templates_dir (relative to the
// config file), else the built-in templates; a template that names a field
// its event does not have fails here, at load (lint and run).
func notifyTemplates(cfgPath string, cfg *config.Config) (*notify.Templates, error) {
	if cfg.Notify == nil || cfg.Notify.TemplatesDir == "" {
		return notify.LoadTemplates(notify.Builtin())
	}
	dir := cfg.Notify.TemplatesDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(cfgPath), dir)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("notify.templates_dir: %w", err)
	}
	ts, err := notify.LoadTemplates(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("notify.templates_dir %s: %w", dir, err)
	}
	return ts, nil
}

type notifyReplayCmd struct {
	ID []int64 `help:"Dead letters to replay (their ids); none: every open one." placeholder:"ID"`
}

func (notifyReplayCmd) Help() string {
	return "Queues the notifications of dead letters again with a fresh attempt budget (the next `fundflow notify run` sends them) and marks the dead letters replayed. Dead letters of events that could not be planned (unknown investor, malformed) have no notification: fix the cause and re-emit the event."
}

func (c notifyReplayCmd) Run(a *app) error {
	_, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := pgstore.Store{Pool: pool}.Replay(a.ctx, c.ID)
	if err != nil {
		return err
	}
	if n == 0 && len(c.ID) > 0 {
		return errors.New("notify replay: none of those dead letters is open with a notification to send")
	}
	return json.NewEncoder(a.stdout).Encode(map[string]int{"queued": n})
}

type notifyStatusCmd struct{}

func (notifyStatusCmd) Run(a *app) error {
	_, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	c, err := pgstore.Store{Pool: pool}.Counts(a.ctx)
	if err != nil {
		return err
	}
	return json.NewEncoder(a.stdout).Encode(c)
}
