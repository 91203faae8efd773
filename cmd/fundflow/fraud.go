package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/aml"
	fraudgen "github.com/fundflow/fundflow/fraud/gen"
	"github.com/fundflow/fundflow/fraud/pgstore"
	"github.com/fundflow/fundflow/fraud/review"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/ledger"
)

// fraudCmd is `fundflow fraud ...`.
type fraudCmd struct {
	Rules    fraudRulesCmd    `cmd:"" help:"check a fraud rule file and print its rules; writes nothing"`
	Run      fraudRunCmd      `cmd:"" help:"evaluate the fraud rules on the Kafka topics until stopped (serve does it when the config has a fraud section)"`
	Screen   fraudScreenCmd   `cmd:"" help:"screen every investor's name against the UN Security Council Consolidated List: hits are restricted and alerted"`
	Backtest fraudBacktestCmd `cmd:"" help:"run a candidate rule set over stored history without acting: alerts and holds per rule per day, precision and recall against a truth file"`
}

type fraudRulesCmd struct {
	File string `arg:"" optional:"" help:"The rule file (default: the config's fraud.rules_file, else the shipped fraud/rules.yaml)."`
}

func (c fraudRulesCmd) Run(a *app) error {
	rs, name, err := c.load(a)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s: version %d, %d rules\n", name, rs.Version, len(rs.Rules))
	for _, r := range rs.Rules {
		fmt.Fprintf(a.stdout, "  %-22s %-20s scope=%-8s window=%-8s action=%s\n", r.ID, r.Kind, r.Scope, r.Window, r.Action)
	}
	return nil
}

func (c fraudRulesCmd) load(a *app) (*fraud.RuleSet, string, error) {
	if c.File != "" {
		rs, err := loadFraudRules(c.File)
		return rs, c.File, err
	}
	cfg, err := config.Load(a.g.Config)
	if err != nil {
		return nil, "", &exitError{code: 2, err: err}
	}
	path := fraudRulesPath(a.g.Config, cfg)
	if path == "" {
		return fraud.Shipped(), "fraud/rules.yaml (shipped)", nil
	}
	rs, err := loadFraudRules(path)
	return rs, path, err
}

// fraudRulesPath is the config's rule file ("" for the shipped rules), a
// relative path taken from the config file's directory.
func fraudRulesPath(cfgPath string, cfg *config.Config) string {
	if cfg.Fraud == nil || cfg.Fraud.RulesFile == "" {
		return ""
	}
	if filepath.IsAbs(cfg.Fraud.RulesFile) {
		return cfg.Fraud.RulesFile
	}
	return filepath.Join(filepath.Dir(cfgPath), cfg.Fraud.RulesFile)
}

// loadFraudRules reads a rule file; a bad one is an exit-2 error listing
// every problem with its field and line, as lint does for the config.
func loadFraudRules(path string) (*fraud.RuleSet, error) {
	rs, err := fraud.LoadRules(path)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return rs, nil
}

// lintFraudRules: lint checks the config's rule file with the config.
func lintFraudRules(cfgPath string, cfg *config.Config) error {
	if p := fraudRulesPath(cfgPath, cfg); p != "" {
		_, err := loadFraudRules(p)
		return err
	}
	return nil
}

type fraudBacktestCmd struct {
	Rules  string   `help:"The candidate rule file (default: the config's, else the shipped rules)." placeholder:"FILE"`
	From   dateFlag `required:"" help:"The first day (UTC)." placeholder:"YYYY-MM-DD"`
	To     dateFlag `required:"" help:"The last day (UTC), included." placeholder:"YYYY-MM-DD"`
	Events string   `help:"Read the events from this file (JSON lines, as gen fraud writes) instead of the stored history (the outbox)." placeholder:"FILE"`
	Truth  string   `help:"A labelled truth file (JSON lines with alert_id and rule_id, as gen fraud writes): adds precision and recall per rule." placeholder:"FILE"`
}

func (fraudBacktestCmd) Help() string {
	return `Runs the rule set over the history with the same evaluation as the live job, in memory, acting on nothing (no alert, no hold, no write), and prints how many alerts and holds each rule would have raised per day; with --truth, precision and recall per rule.`
}

func (c fraudBacktestCmd) Run(a *app) error {
	if c.To.Before(c.From.Date) {
		return usageErr("fraud backtest: --to %s is before --from %s", c.To, c.From)
	}
	rs, _, err := fraudRulesCmd{File: c.Rules}.load(a)
	if err != nil {
		return err
	}
	var truth map[string]string
	if c.Truth != "" {
		if truth, err = readTruth(c.Truth); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	from, to := c.From.Time(), c.To.AddDays(1).Time()
	b := fraud.NewBacktest(rs, from, to)
	bad := 0
	if c.Events != "" {
		if bad, err = backtestFile(c.Events, b); err != nil {
			return &exitError{code: 2, err: err}
		}
	} else {
		_, pool, err := a.connectPG()
		if err != nil {
			return err
		}
		defer pool.Close()
		st := &pgstore.Store{Pool: pool}
		if bad, err = st.History(a.ctx, from, to, func(ev fraud.Event) error { b.Add(ev); return nil }); err != nil {
			return err
		}
	}
	b.WriteTable(a.stdout, truth)
	if bad > 0 {
		fmt.Fprintf(a.stdout, "%d malformed events skipped\n", bad)
	}
	return nil
}

func backtestFile(path string, b *fraud.Backtest) (bad int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		var m fraudgen.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return bad, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		ev, err := fraud.Decode(m.Topic, m.Value, fmt.Sprintf("%s:%d", path, line))
		switch {
		case errors.Is(err, fraud.ErrIgnored):
		case err != nil:
			bad++
		default:
			b.Add(ev)
		}
	}
	return bad, sc.Err()
}

func readTruth(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	truth := map[string]string{}
	for i, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var t fraudgen.Truth
		if err := json.Unmarshal([]byte(l), &t); err != nil || t.AlertID == "" || t.RuleID == "" {
			return nil, fmt.Errorf("%s:%d: not a truth line (JSON with alert_id and rule_id)", path, i+1)
		}
		truth[t.AlertID] = t.RuleID
	}
	return truth, nil
}

type genFraudCmd struct {
	Out       string   `required:"" help:"Folder to write events.jsonl and truth.jsonl into (created if missing)." placeholder:"DIR"`
	Seed      uint64   `default:"1" help:"Random seed."`
	Investors int      `default:"200" help:"Ordinary investors." placeholder:"N"`
	Days      int      `default:"30" help:"Days of traffic (at least 10)." placeholder:"N"`
	From      dateFlag `help:"The first day (default 2026-11-01)." placeholder:"YYYY-MM-DD"`
	Plant     int      `default:"2" help:"How many of each pattern to plant." placeholder:"N"`
	Clean     bool     `help:"Plant nothing: the shipped rules must raise no alert on it."`
}

func (genFraudCmd) Help() string {
	return `A stream of investors.changed, orders.status and payments.status messages (JSON lines with topic, key and value, in time order) of ordinary SIPs, redemptions, profile changes and failed payments, with account takeovers, mules, round trips, card testing, structuring and redemption bursts planted in it; truth.jsonl lists the alert each planted pattern must raise (backtest --truth reads it). Prints a JSON summary.`
}

func (c genFraudCmd) Run(a *app) error {
	o := fraudgen.Options{Seed: c.Seed, Investors: c.Investors, Days: c.Days, Plant: c.Plant, Clean: c.Clean}
	if !c.From.IsZero() {
		o.Start = c.From.Time()
	}
	s, err := fraudgen.Generate(o)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return err
	}
	for name, w := range map[string]func(io.Writer) error{"events.jsonl": s.WriteMessages, "truth.jsonl": s.WriteTruth} {
		f, err := os.Create(filepath.Join(c.Out, name))
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		if err := w(bw); err != nil {
			f.Close()
			return err
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return json.NewEncoder(a.stdout).Encode(map[string]any{"events": filepath.Join(c.Out, "events.jsonl"),
		"truth": filepath.Join(c.Out, "truth.jsonl"), "messages": len(s.Messages), "planted": len(s.Truth)})
}

type fraudRunCmd struct {
	Once bool `help:"Evaluate what the outbox holds now and exit, printing what was raised (without Kafka only)."`
}

func (fraudRunCmd) Help() string {
	return `Evaluates the fraud rules (fraud.rules_file, else the shipped ones) on investors.changed, orders.status and payments.status from Kafka (without Kafka: from the outbox table) until stopped, as serve does when the config has a fraud section; hold alerts hold their legs through the ledger, in the alert's transaction, when pipelines.allocate is configured.`
}

func (c fraudRunCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		if d.cfg.Fraud == nil {
			return usageErr("fraud run: the config has no fraud section")
		}
		if !c.Once {
			return runFraud(a.ctx, a.g.Config, d)
		}
		if len(kafkaBrokers(d)) > 0 {
			return usageErr("fraud run --once reads the outbox table: Kafka is configured, run it without --once")
		}
		fd, rs, err := fraudSetup(a.g.Config, d)
		if err != nil {
			return err
		}
		sum, err := fraudeval.DrainOutbox(a.ctx, fd, d.cfg.Fraud, rs)
		if err != nil {
			return err
		}
		return json.NewEncoder(a.stdout).Encode(sum)
	})
}

// fraudSetup is the evaluation's deps and rules, as serve runs it.
func fraudSetup(cfgPath string, d *deps) (fraudeval.Deps, *fraud.RuleSet, error) {
	rs := fraud.Shipped()
	if p := fraudRulesPath(cfgPath, d.cfg); p != "" {
		var err error
		if rs, err = loadFraudRules(p); err != nil {
			return fraudeval.Deps{}, nil, err
		}
	}
	fd := fraudeval.Deps{PG: d.pg, Brokers: kafkaBrokers(d), Metrics: d.metrics, Registry: d.reg, Log: d.log, Lateness: config.FraudLatenessOf(d.cfg)}
	if d.cfg.Pipelines.Allocate != nil {
		l, err := moneyLedger(d)
		if err != nil {
			return fd, nil, err
		}
		fd.Ledger = l
	} else {
		d.log.Warn("fraud: no pipelines.allocate section, so no ledger: hold alerts are raised but their legs are not held")
	}
	return fd, rs, nil
}

// runFraud runs the evaluation until ctx ends.
func runFraud(ctx context.Context, cfgPath string, d *deps) error {
	fd, rs, err := fraudSetup(cfgPath, d)
	if err != nil {
		return err
	}
	err = fraudeval.Serve(ctx, fd, d.cfg.Fraud, rs)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// startFraud runs the evaluation beside serve's other work when the
// config has a fraud section; the returned function stops it.
func startFraud(ctx context.Context, cfgPath string, d *deps) func() {
	if d.cfg.Fraud == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := runFraud(ctx, cfgPath, d); err != nil && ctx.Err() == nil {
			d.log.Error("fraud evaluation stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}

// fraudReview is the API's fraud review service: the ledger's holds (when
// the money path is configured) and the fraud alerts; nil otherwise.
func fraudReview(d *deps) api.FraudReview {
	if s := fraudReviewService(d); s != nil {
		return s
	}
	return nil // a nil interface, not a nil *review.Service: the routes answer 503
}

// fraudReviewService is the review of holds and alerts (the API routes and
// the console page); nil without the money path's ledger.
func fraudReviewService(d *deps) *review.Service {
	if d.cfg.Pipelines.Allocate == nil {
		return nil
	}
	l, err := moneyLedger(d)
	if err != nil {
		d.log.Warn("fraud review off: no ledger", "err", err)
		return nil
	}
	return &review.Service{Ledger: l, Pool: d.pg.Pool}
}

type fraudScreenCmd struct {
	List      string  `arg:"" type:"existingfile" help:"The UN Security Council Consolidated List (XML, as published)." placeholder:"FILE"`
	Threshold float64 `default:"0.92" help:"The Jaro-Winkler score (0 to 1) at and above which a name is a hit."`
}

func (fraudScreenCmd) Help() string {
	return `Screens every investor's name against the list (transliteration-aware normalisation, Jaro-Winkler): a hit restricts the investor (source aml, purchases and redemptions, public reason under_review; the ledger holds the pending legs) and raises an alert once per investor and listed entry. Run it again when a new list is published: it raises only the new matches. Prints a JSON summary.`
}

func (c fraudScreenCmd) Run(a *app) error {
	if c.Threshold <= 0 || c.Threshold > 1 {
		return usageErr("fraud screen: --threshold must be above 0 and at most 1")
	}
	f, err := os.Open(c.List)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	l, err := aml.ParseUNList(bufio.NewReader(f))
	f.Close()
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", c.List, err)}
	}
	return a.connected(func(d *deps) error {
		l2, err := moneyLedger(d)
		if err != nil {
			return err
		}
		st := &pgstore.Store{Pool: d.pg.Pool}
		res, err := st.Screen(a.ctx, aml.NewScreener(l, c.Threshold), func(ctx context.Context, id, detail string) error {
			return l2.SetRestriction(ctx, ledger.Restriction{InvestorID: id, Source: ledger.HoldAML, Reason: ledger.ReasonUnderReview,
				Detail: detail, BlocksPurchase: true, BlocksRedemption: true, By: "aml"})
		})
		if err != nil {
			return err
		}
		return json.NewEncoder(a.stdout).Encode(map[string]any{"list": l.Version(), "entries": len(l.Entries), "investors": res.Investors,
			"hits": res.Hits, "new_alerts": res.NewAlerts})
	})
}
