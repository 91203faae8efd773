package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/commissions/chstore"
	commpg "github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/fund"
	jobcomm "github.com/fundflow/fundflow/jobs/commission"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/scheduler"
)

// commCmd is `fundflow commissions`: distributor commissions (issue 18).
type commCmd struct {
	LoadBrokerage    loadBrokerageCmd    `cmd:"" name:"load-brokerage" help:"load a brokerage structure CSV (layout: commissions.BrokerageHeader); bad rows go to quarantine and their structure stays as it was"`
	LoadDistributors loadDistributorsCmd `cmd:"" name:"load-distributors" help:"load distributors and share trees (JSON); a tree not summing to 100 % refuses the whole file"`
	Assign           assignCmd           `cmd:"" help:"set a folio's distributor of record (the ARN its trail accrues to)"`
	Accrue           accrueCmd           `cmd:"" help:"accrue the daily trail for every day not yet accrued, up to a date (default yesterday, IST)"`
	Explain          commExplainCmd      `cmd:"" help:"why an ARN's trail for a month differs from the month before: days, units, NAV moves, rate changes, switches to direct, new and redeemed holdings"`
	Recon            brokerageReconCmd   `cmd:"" help:"reconcile an AMC brokerage statement (recon.BrokerageHeader layout) with our month of trail: typed breaks as JSON"`
	Payout           payoutCmd           `cmd:"" help:"pay a fully accrued month: lines split down the hierarchy, statements with GST and TDS; writes payout-YYYY-MM.csv and .json, and payout-YYYY-MM-PAYEE.pdf per payee"`
	Facts            commFactsCmd        `cmd:"" help:"copy a period's commission facts (trail, event amounts, payouts by distributor, scheme, AMC) to ClickHouse commission_facts; rerunnable"`
	Events           commEventsCmd       `cmd:"" help:"compute event commissions (first SIP, referral, upfront, clawback) from transactions.completed, each once, publishing commission.calculated"`
}

type commEventsCmd struct {
	Follow bool `help:"Keep consuming until interrupted (default: one pass over what is pending, outbox only)."`
	Kafka  bool `help:"Consume the Kafka topic transactions.completed (group fundflow-commissions) instead of the outbox table; implies --follow."`
	Batch  int  `help:"Events per batch (one Postgres transaction each); 0: the default, 500." default:"0"`
}

func (c commEventsCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		var res commissions.EventResult
		ed := commissionEventDeps(d, func(r commissions.EventResult) {
			res.Lines, res.Skipped, res.Published, res.Unknown = res.Lines+r.Lines, res.Skipped+r.Skipped, res.Published+r.Published, res.Unknown+r.Unknown
		})
		var st pipelines.Stats
		var err error
		if c.Kafka {
			brokers := kafkaBrokers(d)
			if len(brokers) == 0 {
				return usageErr("--kafka: no brokers in $%s", d.cfg.Services.KafkaBrokersEnv)
			}
			p, perr := jobcomm.KafkaPipeline(ed, brokers, c.Batch)
			if perr != nil {
				return perr
			}
			defer p.Close()
			st, err = p.Run(a.ctx)
		} else {
			ed.Batch = c.Batch
			st, err = jobcomm.OutboxPipeline(ed, c.Follow).Run(a.ctx)
		}
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		if err != nil {
			return err
		}
		return json.NewEncoder(a.stdout).Encode(map[string]any{"read": st.In, "quarantined": st.Quarantined, "lines": res.Lines,
			"skipped": res.Skipped, "published": res.Published, "unknown_tx": res.Unknown})
	})
}

// commissionEventDeps are the event pipelines' dependencies on d.
func commissionEventDeps(d *deps, on func(commissions.EventResult)) jobcomm.EventDeps {
	return jobcomm.EventDeps{Store: commpg.Store{Pool: d.pg.Pool}, Quarantine: d.pg, Metrics: d.metrics, Runs: d.pg, Log: d.log, OnResult: on}
}

type commExplainCmd struct {
	ARN   string `required:"" help:"The ARN (or held:ARN)." placeholder:"ARN"`
	Month string `required:"" help:"The month (YYYY-MM)." placeholder:"YYYY-MM"`
}

func (c commExplainCmd) Run(a *app) error {
	month, err := fund.ParseISODate(c.Month + "-01")
	if err != nil {
		return usageErr("--month %q: want YYYY-MM", c.Month)
	}
	return a.commissionsStore(func(st commpg.Store) error {
		e, err := commissions.ExplainMonth(a.ctx, st, c.ARN, month)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	})
}

type brokerageReconCmd struct {
	Month     string `required:"" help:"The month (YYYY-MM)." placeholder:"YYYY-MM"`
	Statement string `arg:"" type:"existingfile" help:"The AMC's brokerage statement."`
	Truth     string `type:"existingfile" help:"A truth file of 'fundflow gen brokerage': also score the breaks against it (found, missed, unexpected)." placeholder:"FILE"`
}

func (c brokerageReconCmd) Run(a *app) error {
	month, err := fund.ParseISODate(c.Month + "-01")
	if err != nil {
		return usageErr("--month %q: want YYYY-MM", c.Month)
	}
	f, err := os.Open(c.Statement)
	if err != nil {
		return err
	}
	defer f.Close()
	amc, bad, err := recon.ParseBrokerageStatement(f)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Statement, err)
	}
	return a.commissionsStore(func(st commpg.Store) error {
		ours, err := st.BrokerageLines(a.ctx, month)
		if err != nil {
			return err
		}
		breaks := recon.ReconcileBrokerage(ours, amc)
		out := map[string]any{"month": c.Month, "ours": len(ours), "amc": len(amc), "unreadable_lines": bad, "breaks": breaks}
		if c.Truth != "" {
			tf, err := os.Open(c.Truth)
			if err != nil {
				return err
			}
			defer tf.Close()
			truth, err := recon.ReadBrokerageTruth(tf)
			if err != nil {
				return err
			}
			out["truth"] = recon.ScoreBrokerage(breaks, truth)
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	})
}

type payoutCmd struct {
	Month      string `required:"" help:"The month (YYYY-MM)." placeholder:"YYYY-MM"`
	PayoutDate string `required:"" name:"payout-date" help:"The payout date (YYYY-MM-DD): the TDS rate in force on it applies." placeholder:"DATE"`
	Out        string `default:"." help:"Where the CSV and JSON go." type:"existingdir"`
}

func (c payoutCmd) Run(a *app) error {
	month, err := fund.ParseISODate(c.Month + "-01")
	if err != nil {
		return usageErr("--month %q: want YYYY-MM", c.Month)
	}
	pd, err := fund.ParseISODate(c.PayoutDate)
	if err != nil {
		return usageErr("--payout-date: %v", err)
	}
	return a.commissionsStore(func(st commpg.Store) error {
		p, err := commissions.PayMonth(a.ctx, st, month, pd)
		if err != nil {
			return err
		}
		base := filepath.Join(c.Out, "payout-"+c.Month)
		for ext, write := range map[string]func(io.Writer, commissions.Payout) error{".csv": commissions.WriteStatementsCSV, ".json": commissions.WritePayoutJSON} {
			if err := writeFileWith(base+ext, func(w io.Writer) error { return write(w, p) }); err != nil {
				return err
			}
		}
		// One PDF per payee, read back from what the payout stored (a rerun
		// of a paid month writes the same statements).
		var pdfs []string
		for _, s := range p.Statements {
			doc, ok, err := st.PayoutStatement(a.ctx, s.Payee, month)
			if err != nil || !ok {
				return fmt.Errorf("payout statement of %s: %v (stored %v)", s.Payee, err, ok)
			}
			var b bytes.Buffer
			if err := api.RenderPayoutPDF(&b, doc, time.Now().UTC()); err != nil {
				return err
			}
			path := base + "-" + s.Payee + ".pdf"
			if err := writeFileWith(path, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err }); err != nil {
				return err
			}
			pdfs = append(pdfs, path)
		}
		return json.NewEncoder(a.stdout).Encode(map[string]any{"month": c.Month, "already_done": p.AlreadyDone, "buckets": p.Buckets,
			"statements": len(p.Statements), "trail": p.Trail, "upfront": p.Upfront, "events": p.Events, "clawback": p.Clawback,
			"held": p.Held, "net": p.Net, "csv": base + ".csv", "json": base + ".json", "pdf": pdfs})
	})
}

// writeFileWith writes a file through a temporary one renamed into place,
// so a reader never sees half a statement.
func writeFileWith(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

type loadBrokerageCmd struct {
	File string `arg:"" type:"existingfile" help:"The brokerage CSV."`
}

func (c loadBrokerageCmd) Run(a *app) error {
	f, err := os.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	bf, err := commissions.ParseBrokerage(c.File, f)
	if err != nil {
		return err
	}
	return a.commissionsStore(func(st commpg.Store) error {
		n, err := st.PutBrokerage(a.ctx, bf)
		if err != nil {
			return err
		}
		return json.NewEncoder(a.stdout).Encode(map[string]any{"file": c.File, "rows": bf.Rows, "structures_loaded": n, "lines_quarantined": len(bf.Rejected)})
	})
}

type loadDistributorsCmd struct {
	File string `arg:"" type:"existingfile" help:"The distributors JSON (commissions.DistributorsFile)."`
}

func (c loadDistributorsCmd) Run(a *app) error {
	f, err := os.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	ps, ts, err := commissions.ParseDistributors(f)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s: %w (nothing loaded)", c.File, err)}
	}
	return a.commissionsStore(func(st commpg.Store) error {
		if err := st.PutHierarchy(a.ctx, ps, ts); err != nil {
			return &exitError{code: 1, err: fmt.Errorf("%s: %w (nothing loaded)", c.File, err)}
		}
		return json.NewEncoder(a.stdout).Encode(map[string]any{"file": c.File, "distributors": len(ps), "trees": len(ts)})
	})
}

type assignCmd struct {
	Folio string `arg:"" help:"The folio."`
	ARN   string `arg:"" help:"The ARN (empty: a direct folio)."`
	EUIN  string `arg:"" optional:"" help:"The employee's EUIN."`
}

func (c assignCmd) Run(a *app) error {
	return a.commissionsStore(func(st commpg.Store) error { return st.SetFolioDistributor(a.ctx, c.Folio, c.ARN, c.EUIN) })
}

type accrueCmd struct {
	Through string `help:"The last day to accrue (YYYY-MM-DD); default yesterday (IST)." placeholder:"DATE"`
	From    string `help:"The first day when none is accrued yet (YYYY-MM-DD); default: --through." placeholder:"DATE"`
}

func (c accrueCmd) Run(a *app) error {
	var through fund.Date
	var err error
	if c.Through != "" {
		if through, err = fund.ParseISODate(c.Through); err != nil {
			return usageErr("--through: %v", err)
		}
	}
	var from fund.Date
	if c.From != "" {
		if from, err = fund.ParseISODate(c.From); err != nil {
			return usageErr("--from: %v", err)
		}
	}
	return a.connected(func(d *deps) error {
		if through.IsZero() {
			through = jobcomm.Yesterday(d.now())
		}
		j := commissionJob(d)
		if !from.IsZero() {
			j.Start = from
		}
		var res jobcomm.Result
		err := supervise.Single(a.ctx, d.pg, jobcomm.Name, func(ctx context.Context) error {
			var err error
			res, err = j.Run(ctx, through)
			return err
		})
		if err != nil {
			return err
		}
		return json.NewEncoder(a.stdout).Encode(res)
	})
}

// commissionJob is the accrual job on the deps' Postgres; Start from the
// config's pipelines.commissions.start_date when set.
func commissionJob(d *deps) jobcomm.Job {
	j := jobcomm.Job{Store: commpg.Store{Pool: d.pg.Pool}, Recorder: d.recorder(), Log: d.log}
	if c := d.cfg.Pipelines.Commissions; c != nil && c.StartDate != "" {
		j.Start, _ = fund.ParseISODate(c.StartDate) // validated by the config
	}
	return j
}

// commissionScheduled is serve's accrual job, under its single-runner lock
// (none without the section).
func commissionScheduled(d *deps) []scheduler.Job {
	c := d.cfg.Pipelines.Commissions
	if c == nil {
		return nil
	}
	return []scheduler.Job{supervise.Scheduled(d.pg, jobcomm.Name, c.Schedule, func(ctx context.Context) error {
		_, err := commissionJob(d).Run(ctx, jobcomm.Yesterday(d.now()))
		return err
	}), supervise.Scheduled(d.pg, jobcomm.EventsName, c.EventsSchedule, func(ctx context.Context) error {
		// a pass over the outbox's pending transactions (the accrual's
		// upfronts and clawbacks are event commissions too)
		_, err := jobcomm.OutboxPipeline(commissionEventDeps(d, nil), false).Run(ctx)
		return err
	})}
}

func (a *app) commissionsStore(f func(commpg.Store) error) error {
	_, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	return f(commpg.Store{Pool: pool})
}

// genBrokCmd is `fundflow gen brokerage`: the AMC's monthly brokerage
// statement as it would be for our month, with differences injected.
type genBrokCmd struct {
	Month      string   `required:"" help:"The month (YYYY-MM); its trail should be accrued." placeholder:"YYYY-MM"`
	Out        string   `required:"" help:"Folder to write into (created if missing)." placeholder:"DIR"`
	InjectRate float64  `name:"inject-rate" help:"The share of lines (0 to 1) that get one difference." placeholder:"R"`
	Inject     []string `help:"Inject only these kinds (comma-separated): missing_folio_at_amc, missing_folio_in_ledger, rate_mismatch, aum_mismatch, amount_mismatch, clawback_mismatch." placeholder:"KIND,..."`
	Seed       uint64   `default:"1" help:"Random seed."`
}

func (genBrokCmd) Help() string {
	return `Writes DIR/brokerage_YYYY-MM.csv in the statement layout 'fundflow commissions recon' reads (recon.BrokerageHeader), from our month of trail and clawbacks, and DIR/truth/brokerage_truth_YYYY-MM.jsonl listing each injected difference with the break a reconciliation must report. Prints a JSON summary.`
}

func (c genBrokCmd) Run(a *app) error {
	month, err := fund.ParseISODate(c.Month + "-01")
	if err != nil {
		return usageErr("--month %q: want YYYY-MM", c.Month)
	}
	if c.InjectRate < 0 || c.InjectRate > 1 {
		return usageErr("--inject-rate must be between 0 and 1")
	}
	return a.commissionsStore(func(st commpg.Store) error {
		ours, err := st.BrokerageLines(a.ctx, month)
		if err != nil {
			return err
		}
		amc, truth, err := recon.GenerateBrokerageStatement(ours, recon.BrokerageGenOptions{Seed: c.Seed, Rate: c.InjectRate, Types: c.Inject})
		if err != nil {
			return usageErr("%v", err)
		}
		if err := os.MkdirAll(filepath.Join(c.Out, "truth"), 0o755); err != nil {
			return err
		}
		stmt := filepath.Join(c.Out, "brokerage_"+c.Month+".csv")
		truthPath := filepath.Join(c.Out, "truth", "brokerage_truth_"+c.Month+".jsonl")
		if err := writeFileWith(stmt, func(w io.Writer) error { return recon.WriteBrokerageStatement(w, amc) }); err != nil {
			return err
		}
		if err := writeFileWith(truthPath, func(w io.Writer) error { return recon.WriteBrokerageTruth(w, truth) }); err != nil {
			return err
		}
		return json.NewEncoder(a.stdout).Encode(map[string]any{"month": c.Month, "lines": len(amc), "injected": len(truth),
			"statement": stmt, "truth": truthPath})
	})
}

type commFactsCmd struct {
	From string `required:"" help:"The first day (YYYY-MM-DD)." placeholder:"DATE"`
	To   string `required:"" help:"The last day (YYYY-MM-DD)." placeholder:"DATE"`
}

func (c commFactsCmd) Run(a *app) error {
	from, err := fund.ParseISODate(c.From)
	if err != nil {
		return usageErr("--from: %v", err)
	}
	to, err := fund.ParseISODate(c.To)
	if err != nil {
		return usageErr("--to: %v", err)
	}
	return a.connected(func(d *deps) error {
		facts, err := commpg.Store{Pool: d.pg.Pool}.Facts(a.ctx, from, to)
		if err != nil {
			return err
		}
		if err := chstore.Write(a.ctx, d.ch, facts, d.now()); err != nil {
			return err
		}
		return json.NewEncoder(a.stdout).Encode(map[string]any{"from": c.From, "to": c.To, "facts": len(facts)})
	})
}
