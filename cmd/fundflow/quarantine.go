package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fundflow/fundflow/connectors/file"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/nav"
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
	fs := flag.NewFlagSet("quarantine "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
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
		sum, err := retractNAVs(ctx, d, postgres.NAVSelector{SHA256: *sha, Scheme: *scheme, Date: date, From: from}, *by)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	// replay
	opt := replayOptions{Filter: postgres.QuarantineFilter{Pipelines: pipes, Reason: *reason, Status: "open", IDs: ids, Limit: *limit}, Accept: *accept, By: *by}
	if opt.Accept && len(ids) == 0 {
		return usageErr("quarantine replay --accept needs the --id of each reviewed row")
	}
	if opt.By == "" {
		opt.By = loginName()
	}
	sum, err := replayQuarantine(ctx, d, opt)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
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

type replayOptions struct {
	Filter postgres.QuarantineFilter
	Accept bool   // publish nav_jump rows without the jump check
	By     string // who replayed or accepted
}

type replaySummary struct {
	Considered int            `json:"considered"`
	Published  int            `json:"published"`
	MarkedAs   string         `json:"marked_as"`
	IDs        []int64        `json:"ids"`               // published and marked
	StillOpen  map[string]int `json:"still_quarantined"` // reason they still fail -> count
}

// replayBatch bounds one write to the sinks.
const replayBatch = 2000

// replayQuarantine reads open NAV rows again through today's parser and
// validator (the one nav-ingest uses, starting from nav_latest) and writes
// the rows that pass through nav-ingest's sinks, oldest first. Each batch
// is marked resolved only after every sink wrote it; the sinks are
// idempotent, so a replay cut short and run again publishes nothing twice.
func replayQuarantine(ctx context.Context, d *deps, opt replayOptions) (replaySummary, error) {
	sum := replaySummary{MarkedAs: "replayed", IDs: []int64{}, StillOpen: map[string]int{}}
	if opt.Accept {
		sum.MarkedAs = "accepted"
	}
	if d.cfg.Pipelines.NAVIngest == nil {
		return sum, usageErr("quarantine replay writes through nav-ingest's sinks: add a pipelines.nav-ingest section to the config")
	}
	recs, err := d.pg.Quarantine(ctx, opt.Filter, true)
	if err != nil {
		return sum, err
	}
	sum.Considered = len(recs)
	if len(recs) == 0 {
		return sum, nil
	}
	// nav-ingest's own sinks and validator; its source is never read.
	p, err := navIngestFrom(ctx, d, file.Dir{Path: os.TempDir()})
	if err != nil {
		return sum, err
	}
	defer p.Close() // never run: its sinks are closed here
	stage := p.Stage
	if opt.Accept {
		// After review the jump is accepted: no previous NAV to jump from,
		// every other rule still applies.
		stage = navValidator(nil, d.cfg.Pipelines.NAVIngest).Stage
	}
	var batch []fund.NAVLine
	var batchIDs []int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b := pipelines.Batch[fund.NAVLine]{Items: batch, Through: pipelines.Checkpoint{Stream: "quarantine-replay"}}
		for _, s := range p.Sinks {
			if err := pipelines.DefaultRetry.Do(ctx, "replay sink", func(ctx context.Context) error { return s.Write(ctx, b) }); err != nil {
				return err
			}
		}
		if _, err := d.pg.ResolveQuarantined(ctx, batchIDs, sum.MarkedAs, opt.By); err != nil {
			return err
		}
		sum.Published += len(batch)
		sum.IDs = append(sum.IDs, batchIDs...)
		batch, batchIDs = batch[:0], batchIDs[:0]
		return nil
	}
	for _, q := range recs {
		if opt.Accept && q.Reason != nav.ReasonNAVJump {
			return sum, usageErr("record %d was quarantined for %s: only rows held for %s can be accepted", q.ID, q.Reason, nav.ReasonNAVJump)
		}
		still := func(reason, detail string) error {
			sum.StillOpen[reason]++
			return d.pg.ReplayFailed(ctx, q.ID, reason+": "+detail)
		}
		it, err := nav.Reread(q.Raw, q.Context, q.Pos)
		if err != nil {
			if err := still("unreadable", err.Error()); err != nil {
				return sum, err
			}
			continue
		}
		line, err := stage(ctx, it)
		var rej *pipelines.RejectError
		switch {
		case errors.As(err, &rej):
			if err := still(rej.Reason, rej.Detail); err != nil {
				return sum, err
			}
			continue
		case err != nil:
			return sum, err
		}
		// Every store must keep the same NAV for a key: Postgres keeps the
		// one it has, ClickHouse the newest written. A row that says
		// otherwise than a stored NAV stays here (retract the stored one
		// first if it is the wrong one).
		if stored, ok, err := d.pg.StoredNAV(ctx, line.SchemeCode, line.Date); err != nil {
			return sum, err
		} else if ok && !stored.NAV.Equal(line.NAV) {
			if err := still(nav.ReasonDuplicateConflict, fmt.Sprintf("navs has NAV %s for scheme %s on %s from %s line %d; this row says %s",
				stored.NAV, line.SchemeCode, line.Date, stored.From.File, stored.From.Line, line.NAV)); err != nil {
				return sum, err
			}
			continue
		}
		batch = append(batch, line)
		batchIDs = append(batchIDs, q.ID)
		if len(batch) >= replayBatch {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush()
}

type retractSummary struct {
	Retracted int               `json:"retracted"`
	NAVs      []string          `json:"navs"`       // scheme|date=nav (file line)
	NAVLatest map[string]string `json:"nav_latest"` // scheme -> its nav_date now ("" when it has no NAV left)
}

// retractNAVs takes NAVs back out of Postgres (navs, nav_latest rebuilt,
// audit trail) and then ClickHouse. ClickHouse is deleted by the same
// selector whatever Postgres found, so a retract cut short after Postgres
// finishes the job when run again.
func retractNAVs(ctx context.Context, d *deps, sel postgres.NAVSelector, by string) (retractSummary, error) {
	sum := retractSummary{NAVs: []string{}, NAVLatest: map[string]string{}}
	rs, err := d.pg.RetractNAVs(ctx, sel, by)
	if err != nil {
		return sum, err
	}
	if err := clickhouse.DeleteNAVs(ctx, d.ch, sel.SHA256, sel.Scheme, sel.Date, sel.From); err != nil {
		return sum, fmt.Errorf("retracted from Postgres, not yet from ClickHouse (run the same command again): %w", err)
	}
	sum.Retracted = len(rs)
	for _, r := range rs {
		sum.NAVs = append(sum.NAVs, fmt.Sprintf("%s|%s=%s (%s line %d)", r.Scheme, r.Date, r.NAV, r.From.File, r.From.Line))
		sum.NAVLatest[r.Scheme] = ""
	}
	latest, err := postgres.LatestNAVs(ctx, d.pg.Pool)
	if err != nil {
		return sum, err
	}
	for code := range sum.NAVLatest {
		if l, ok := latest[code]; ok {
			sum.NAVLatest[code] = l.Date.String()
		}
	}
	d.log.Info("NAVs retracted", "count", len(rs), "by", by, "sha256", sel.SHA256, "scheme", sel.Scheme)
	return sum, nil
}
