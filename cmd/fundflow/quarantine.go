package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fundflow/fundflow/jobs/backfill"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/jobs/replay"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/nav"
)

type quarantineCmd struct {
	List    quarantineListCmd    `cmd:"" help:"quarantined NAV rows, newest first, as a table"`
	Show    quarantineShowCmd    `cmd:"" help:"one record: file, SHA-256, line, reason, detail, context and the raw bytes"`
	Replay  quarantineReplayCmd  `cmd:"" help:"replay open rows through today's rules, or publish reviewed NAV jumps (--accept)"`
	Retract quarantineRetractCmd `cmd:"" help:"retract NAVs accepted by mistake: both stores, nav_latest rebuilt"`
}

// navPipelines are the pipelines whose quarantined rows are NAV rows.
var navPipelines = []string{navingest.Name, backfill.Name}

// rowsFilter picks quarantined rows of the NAV pipelines.
type rowsFilter struct {
	Pipeline string  `enum:"${navpipelines}," default:"" help:"Only this pipeline's rows: ${navpipelines} (default: both)." placeholder:"P"`
	Reason   string  `help:"Only rows quarantined for this reason, e.g. nav_jump." placeholder:"R"`
	ID       []int64 `name:"id" sep:"none" help:"Only this row (repeatable)." placeholder:"ID"`
}

// knownReasons are the reasons NAV rows are quarantined for.
var knownReasons = append(slices.Clone(nav.Reasons), replay.ReasonUnreadable)

// check refuses a --reason no row can carry, which would only ever print
// "(0 rows)": bad usage, naming the one meant or the known ones.
func (f rowsFilter) check() error {
	if f.Reason == "" || slices.Contains(knownReasons, f.Reason) {
		return nil
	}
	if m := closest(f.Reason, knownReasons); m != "" {
		return usageErr("--reason %q is not a quarantine reason; did you mean %q?", f.Reason, m)
	}
	return usageErr("--reason %q is not a quarantine reason; the reasons are %s", f.Reason, strings.Join(knownReasons, ", "))
}

func (f rowsFilter) filter(status string, limit int) postgres.QuarantineFilter {
	pipes := navPipelines
	if f.Pipeline != "" {
		pipes = []string{f.Pipeline}
	}
	return postgres.QuarantineFilter{Pipelines: pipes, Reason: f.Reason, Status: status, IDs: f.ID, Limit: limit}
}

type quarantineListCmd struct {
	rowsFilter
	Status string `default:"open" enum:"open,replayed,accepted,dismissed,all" help:"open, replayed, accepted, dismissed or all."`
	Limit  int    `default:"50" help:"At most this many rows (>= 1)." placeholder:"N"`
}

func (c quarantineListCmd) Run(a *app) error {
	if c.Limit < 1 {
		return usageErr("quarantine list: --limit must be at least 1")
	}
	if err := c.check(); err != nil {
		return err
	}
	status := c.Status
	if status == "all" {
		status = ""
	}
	return a.connected(func(d *deps) error {
		rs, err := d.pg.Quarantine(a.ctx, c.filter(status, c.Limit), false)
		if err != nil {
			return err
		}
		return printQuarantine(a.stdout, rs)
	})
}

type quarantineShowCmd struct {
	ID int64 `arg:"" help:"The record's id."`
}

func (c quarantineShowCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		q, err := d.pg.QuarantinedByID(a.ctx, c.ID)
		if errors.Is(err, postgres.ErrNotFound) {
			return &exitError{code: 2, err: err}
		}
		if err != nil {
			return err
		}
		return showQuarantined(a.stdout, q)
	})
}

type quarantineReplayCmd struct {
	rowsFilter
	Limit  int    `help:"At most this many rows (0: all)." placeholder:"N"`
	Accept bool   `help:"Publish rows held for nav_jump after a person reviewed them (needs --id): every rule but the jump check still applies."`
	By     string `help:"Who reviewed (default: the login name)." placeholder:"NAME"`
}

func (quarantineReplayCmd) Help() string {
	return `Read each open row again from its raw bytes and run today's parser and validation over it; rows that pass now are written through the normal sinks (Postgres, ClickHouse, Kafka) and marked replayed, the others stay open with the reason they still fail. With --accept, the row records who (--by) and when. Prints a JSON summary.`
}

func (c quarantineReplayCmd) Run(a *app) error {
	if c.Accept && len(c.ID) == 0 {
		return usageErr("quarantine replay --accept needs the --id of each reviewed row")
	}
	if err := c.check(); err != nil {
		return err
	}
	opt := replay.Options{Filter: c.filter("open", c.Limit), Accept: c.Accept, By: orLogin(c.By)}
	return a.connected(func(d *deps) error {
		if d.cfg.Pipelines.NAVIngest == nil {
			return usageErr("quarantine replay writes through nav-ingest's sinks: add a pipelines.nav-ingest section to the config")
		}
		sum, err := replay.Run(a.ctx, d.navDeps(), d.cfg.Pipelines.NAVIngest, opt)
		if errors.Is(err, replay.ErrNotAcceptable) {
			return &exitError{code: 2, err: err}
		}
		if err != nil {
			return err
		}
		return printJSON(a.stdout, sum)
	})
}

type quarantineRetractCmd struct {
	SHA256 string   `name:"sha256" xor:"what" required:"" help:"Every NAV of the file with this SHA-256." placeholder:"SHA"`
	Scheme string   `xor:"what" required:"" help:"The NAVs of this scheme code." placeholder:"CODE"`
	Date   dateFlag `xor:"when" help:"With --scheme: the NAV of this day." placeholder:"YYYY-MM-DD"`
	From   dateFlag `xor:"when" help:"With --scheme: the NAVs from this day on." placeholder:"YYYY-MM-DD"`
	By     string   `help:"Who retracts (default: the login name)." placeholder:"NAME"`
}

func (quarantineRetractCmd) Help() string {
	return `Give one of --sha256 and --scheme. Take back NAVs that should never have been accepted (a mis-dated file, a row accepted by mistake): delete them from navs and ClickHouse's nav_history, rebuild each affected scheme's nav_latest from the NAVs that remain, mark a quarantined row that had been accepted or replayed as dismissed, and write each retraction to the audit trail. A NAV that allotted transactions applied is refused. Safe to run again. Prints a JSON summary.`
}

func (c quarantineRetractCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		sum, err := navingest.Retract(a.ctx, d.navDeps(), postgres.NAVSelector{SHA256: c.SHA256, Scheme: c.Scheme, Date: c.Date.Date, From: c.From.Date}, orLogin(c.By))
		if err != nil {
			return err
		}
		return printJSON(a.stdout, sum)
	})
}

// orLogin is who, or the login name when who is empty.
func orLogin(who string) string {
	if who != "" {
		return who
	}
	return loginName()
}

func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return n
	}
	return "unknown"
}

func printQuarantine(w io.Writer, rs []postgres.Quarantined) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPIPELINE\tSTATUS\tREASON\tFILE:LINE\tQUARANTINED\tDETAIL")
	for _, q := range rs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s:%d\t%s\t%s\n", q.ID, q.Pipeline, q.Status, q.Reason, q.Pos.File, q.Pos.Line,
			q.CreatedAt.UTC().Format("2006-01-02 15:04"), shorten(q.Detail, 70))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "(%d rows)\n", len(rs))
	return err
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func showQuarantined(w io.Writer, q postgres.Quarantined) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	field := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	field("id", strconv.FormatInt(q.ID, 10))
	field("pipeline", q.Pipeline)
	field("status", q.Status)
	field("reason", q.Reason)
	field("detail", q.Detail)
	field("file", q.Pos.File)
	field("sha256", q.Pos.SHA256)
	field("line", strconv.Itoa(q.Pos.Line))
	field("quarantined", q.CreatedAt.UTC().Format(time.RFC3339))
	if q.ResolvedAt != nil {
		field("resolved", q.ResolvedAt.UTC().Format(time.RFC3339)+" by "+q.ResolvedBy)
	}
	if q.LastReplayAt != nil {
		field("last replay", q.LastReplayAt.UTC().Format(time.RFC3339)+": "+q.LastReplayDetail)
	}
	if q.Context != nil {
		field("context", string(q.Context))
	}
	field("raw", fmt.Sprintf("%q (%d bytes)", q.Raw, len(q.Raw)))
	return tw.Flush()
}
