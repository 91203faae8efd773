package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/jobs/replay"
	"github.com/fundflow/fundflow/sinks/postgres"
)

const quarantineUsage = `usage:
  fundflow quarantine list [--pipeline P] [--reason R] [--status open|replayed|accepted|dismissed|all] [--limit N]
      Quarantined NAV rows, newest first, as a table (default: open rows, 50).
  fundflow quarantine show ID
      One record: file, SHA-256, line, reason, detail, context and the raw bytes.
  fundflow quarantine replay [--pipeline P] [--reason R] [--id ID]... [--limit N]
      Read each open row again from its raw bytes and run today's parser and
      validation over it; rows that pass now are written through the normal
      sinks (Postgres, ClickHouse, Kafka) and marked replayed, the others
      stay open with the reason they still fail. Prints a JSON summary.
  fundflow quarantine replay --accept --id ID [--id ID]... [--by NAME]
      Publish rows held for nav_jump after a person reviewed them: every rule
      but the jump check still applies. The row records who (--by, default
      the login name) and when.
  fundflow quarantine retract (--sha256 SHA | --scheme CODE [--date D | --from D]) [--by NAME]
      Take back NAVs that should never have been accepted (a mis-dated file,
      a row accepted by mistake): delete them from navs and ClickHouse's
      nav_history, rebuild each affected scheme's nav_latest from the NAVs
      that remain, mark a quarantined row that had been accepted or replayed
      as dismissed, and write each retraction to the audit trail. A NAV that
      allotted transactions applied is refused. Dates are YYYY-MM-DD. Safe to
      run again. Prints a JSON summary.
P is nav-ingest or nav-backfill (default: both).`

// navPipelines are the pipelines whose quarantined rows are NAV rows.
var navPipelines = []string{"nav-ingest", "nav-backfill"}

func cmdQuarantine(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErr("%s", quarantineUsage)
	}
	fs := newFlags("quarantine " + args[0])
	pipeline := fs.String("pipeline", "", "nav-ingest or nav-backfill")
	reason := fs.String("reason", "", "quarantine reason, e.g. nav_jump")
	status := fs.String("status", "open", "open, replayed, accepted, dismissed or all")
	limit := fs.Int("limit", 0, "at most this many rows")
	accept := fs.Bool("accept", false, "publish reviewed nav_jump rows")
	by := fs.String("by", "", "who reviewed (default: the login name)")
	sha := fs.String("sha256", "", "retract: every NAV of the file with this SHA-256")
	scheme := fs.String("scheme", "", "retract: NAVs of this scheme code")
	var date, from fund.Date
	dateFlag := func(d *fund.Date) func(string) error {
		return func(s string) error {
			v, err := fund.ParseISODate(s)
			*d = v
			return err
		}
	}
	fs.Func("date", "retract: the NAV of this date (YYYY-MM-DD)", dateFlag(&date))
	fs.Func("from", "retract: the NAVs from this date on (YYYY-MM-DD)", dateFlag(&from))
	var ids []int64
	fs.Func("id", "record id (repeatable)", func(s string) error {
		id, err := strconv.ParseInt(s, 10, 64)
		ids = append(ids, id)
		return err
	})
	if err := fs.Parse(args[1:]); err != nil {
		return usageErr("quarantine %s: %v\n%s", args[0], err, quarantineUsage)
	}
	pipes := navPipelines
	if *pipeline != "" {
		if !contains(navPipelines, *pipeline) {
			return usageErr("--pipeline %q: quarantine works on NAV rows (one of %s)", *pipeline, strings.Join(navPipelines, ", "))
		}
		pipes = []string{*pipeline}
	}
	if *status == "all" {
		*status = ""
	}
	cmd := args[0]
	switch cmd {
	case "retract":
		if fs.NArg() > 0 || (*sha == "") == (*scheme == "") || (!date.IsZero() && !from.IsZero()) {
			return usageErr("quarantine retract needs --sha256 or --scheme (not both), and at most one of --date and --from\n%s", quarantineUsage)
		}
	case "list", "replay":
		if fs.NArg() > 0 {
			return usageErr("quarantine %s takes no arguments, got %q\n%s", cmd, fs.Args(), quarantineUsage)
		}
	case "show":
		if fs.NArg() != 1 {
			return usageErr("usage: fundflow quarantine show ID")
		}
	default:
		return usageErr("unknown quarantine command %q\n%s", cmd, quarantineUsage)
	}
	d, err := loadAndConnect(ctx, g, log)
	if err != nil {
		return err
	}
	defer d.Close()
	switch cmd {
	case "list":
		if *limit == 0 {
			*limit = 50
		}
		rs, err := d.pg.Quarantine(ctx, postgres.QuarantineFilter{Pipelines: pipes, Reason: *reason, Status: *status, IDs: ids, Limit: *limit}, false)
		if err != nil {
			return err
		}
		return printQuarantine(stdout, rs)
	case "show":
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return usageErr("quarantine show: %q is not a record id", fs.Arg(0))
		}
		q, err := d.pg.QuarantinedByID(ctx, id)
		if errors.Is(err, postgres.ErrNotFound) {
			return &exitError{code: 2, err: err}
		}
		if err != nil {
			return err
		}
		return showQuarantined(stdout, q)
	}
	if cmd == "retract" {
		if *by == "" {
			*by = loginName()
		}
		sum, err := navingest.Retract(ctx, d.navDeps(), postgres.NAVSelector{SHA256: *sha, Scheme: *scheme, Date: date, From: from}, *by)
		if err != nil {
			return err
		}
		return printJSON(stdout, sum)
	}
	// replay
	opt := replay.Options{Filter: postgres.QuarantineFilter{Pipelines: pipes, Reason: *reason, Status: "open", IDs: ids, Limit: *limit}, Accept: *accept, By: *by}
	if opt.Accept && len(ids) == 0 {
		return usageErr("quarantine replay --accept needs the --id of each reviewed row")
	}
	if opt.By == "" {
		opt.By = loginName()
	}
	if d.cfg.Pipelines.NAVIngest == nil {
		return usageErr("quarantine replay writes through nav-ingest's sinks: add a pipelines.nav-ingest section to the config")
	}
	sum, err := replay.Run(ctx, d.navDeps(), d.cfg.Pipelines.NAVIngest, opt)
	if errors.Is(err, replay.ErrNotAcceptable) {
		return &exitError{code: 2, err: err}
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, sum)
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
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
