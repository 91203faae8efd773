package recon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon/report"
)

// History keeps the breaks of each reconciled date for trend queries
// (ClickHouse recon_breaks_history). Writing a date again is idempotent.
type History interface {
	Write(ctx context.Context, date fund.Date, breaks []fund.Break) error
}

// FolioRecon is the folio-recon job: load the RTA files waiting, reconcile
// the RTAs' books with our ledger as of a date, write the report and the
// history.
type FolioRecon struct {
	// Load stages every complete RTA file waiting in the source folder (a
	// pipeline: parse by header, quarantine bad rows, COPY the good ones)
	// and says which files it skipped.
	Load       func(ctx context.Context) (st pipelines.Stats, skipped []string, err error)
	Store      Store
	History    History
	ReportDir  string
	WindowDays int // transactions compared over this many days up to the date; 0: all history
	RetainDays int // see Options.RetainDays
	Log        *slog.Logger
}

// Outcome is what one folio-recon run did (`fundflow run folio-recon`
// prints it as JSON).
type Outcome struct {
	Pipeline string `json:"pipeline"`
	Load     struct {
		Files       []string         `json:"skipped_files,omitempty"`
		Batches     int64            `json:"batches"`
		In          int64            `json:"in"`
		Out         int64            `json:"out"`
		Quarantined int64            `json:"quarantined"`
		Reasons     map[string]int64 `json:"reasons"`
		Seconds     float64          `json:"seconds"`
	} `json:"load"`
	Date       string         `json:"date"`
	Recon      Result         `json:"recon"`
	ReconSecs  float64        `json:"recon_seconds"`
	Summary    report.Summary `json:"summary"`
	SummaryTxt string         `json:"summary_txt"`
	ReportSecs float64        `json:"report_seconds"`
}

// Stats is the load's counts, as the engine reports a run.
func (o Outcome) Stats() pipelines.Stats {
	return pipelines.Stats{Batches: o.Load.Batches, In: o.Load.In, Out: o.Load.Out, Quarantined: o.Load.Quarantined, Reasons: o.Load.Reasons}
}

// historyBatch is how many breaks go to History in one write.
const historyBatch = 20000

// Run loads, then reconciles as of date (zero: the latest date an RTA
// holdings file was loaded for), then streams the run's breaks into the
// report and the history.
func (f FolioRecon) Run(ctx context.Context, date fund.Date) (Outcome, error) {
	var out Outcome
	out.Pipeline = "folio-recon"
	log := f.Log
	if log == nil {
		log = slog.Default()
	}
	t0 := time.Now()
	st, skipped, err := f.Load(ctx)
	out.Load.Batches, out.Load.In, out.Load.Out, out.Load.Quarantined, out.Load.Reasons = st.Batches, st.In, st.Out, st.Quarantined, st.Reasons
	out.Load.Files = skipped
	out.Load.Seconds = time.Since(t0).Seconds()
	if err != nil {
		return out, err
	}

	if date.IsZero() {
		if date, err = f.Store.LatestRTADate(ctx); err != nil {
			return out, err
		}
	}
	out.Date = date.String()
	opt := Options{Date: date, RetainDays: f.RetainDays}
	if f.WindowDays > 0 {
		opt.WindowFrom = date.AddDays(1 - f.WindowDays)
	}
	t1 := time.Now()
	res, err := f.Store.Reconcile(ctx, opt)
	if err != nil {
		return out, err
	}
	out.Recon, out.ReconSecs = res, time.Since(t1).Seconds()
	log.Info("folio-recon reconciled", "date", date, "breaks", res.Breaks, "new", res.NewBreaks, "resolved", res.Resolved,
		"sip_purchase_kind_notes", res.KindMismatches, "took", res.Took.Round(time.Millisecond))

	t2 := time.Now()
	rep, err := report.New(f.ReportDir, report.Run{RunID: res.RunID, Date: date, HoldingsRTAs: res.HoldingsRTAs,
		TransactionsRTAs: res.TransactionsRTAs, RTAHoldings: res.RTAHoldings, LedgerHoldings: res.LedgerHoldings,
		RTATransactions: res.RTATransactions, LedgerTransactions: res.LedgerTransactions, UnmappedSchemes: res.UnmappedSchemes,
		Seconds: res.Took.Seconds()})
	if err != nil {
		return out, fmt.Errorf("folio-recon report: %w", err)
	}
	var batch []fund.Break
	flush := func() error {
		err := pipelines.DefaultRetry.Do(ctx, "clickhouse recon_breaks_history", func(ctx context.Context) error { return f.History.Write(ctx, date, batch) })
		batch = batch[:0]
		return err
	}
	err = f.Store.EachBreak(ctx, res.RunID, func(b fund.Break) error {
		if err := rep.Add(b); err != nil {
			return err
		}
		if batch = append(batch, b); len(batch) == historyBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	sum, cerr := rep.Close()
	if err = errors.Join(err, cerr); err != nil {
		return out, fmt.Errorf("folio-recon report: %w", err)
	}
	out.Summary = sum
	out.SummaryTxt = filepath.Join(f.ReportDir, "summary_"+date.Time().Format("20060102")+".txt")
	out.ReportSecs = time.Since(t2).Seconds()
	return out, nil
}
