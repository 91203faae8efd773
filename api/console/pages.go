package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/jobs/replay"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon/pgstore"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// view is what every page template gets.
type view struct {
	Title, Nav string
	User, Role string
	CSRF       string
	Flash      string
	Error      string
	Now        time.Time
	Data       any
}

func (h *Handler) view(r *http.Request, s session, title, nav string, data any) view {
	return view{Title: title, Nav: nav, User: s.P.Subject, Role: s.P.Role, CSRF: s.CSRF, Flash: r.URL.Query().Get("done"), Now: h.cfg.Now(), Data: data}
}

func (h *Handler) today() fund.Date { return fund.DateOf(h.cfg.Now().In(fund.IST())) }

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badInput(fmt.Sprintf("%s: %q is not a number from %d to %d", name, v, lo, hi))
	}
	return n, nil
}

func idParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound("no such id: " + r.PathValue("id"))
	}
	return id, nil
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, s session) error {
	o, err := h.cfg.Store.Overview(r.Context(), h.cfg.Now())
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "overview", h.view(r, s, "Overview", "overview", o))
	return nil
}

type runsView struct {
	Pipeline string
	Limit    int
	Runs     []postgres.RunRow
}

func (h *Handler) runs(w http.ResponseWriter, r *http.Request, s session) error {
	limit, err := intParam(r, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	pipe := r.URL.Query().Get("pipeline")
	rs, err := h.cfg.Store.Runs(r.Context(), pipe, limit)
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "runs", h.view(r, s, "Job runs", "runs", runsView{Pipeline: pipe, Limit: limit, Runs: rs}))
	return nil
}

func (h *Handler) run(w http.ResponseWriter, r *http.Request, s session) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	run, err := h.cfg.Store.Run(r.Context(), id)
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "run", h.view(r, s, fmt.Sprintf("Run %d", id), "runs", run))
	return nil
}

func (h *Handler) freshness(w http.ResponseWriter, r *http.Request, s session) error {
	var day fund.Date
	if v := r.URL.Query().Get("date"); v != "" {
		d, err := fund.ParseISODate(v)
		if err != nil {
			return badInput(fmt.Sprintf("date: %q is not a date (YYYY-MM-DD)", v))
		}
		day = d
	}
	f, err := h.cfg.Store.FreshnessByAMC(r.Context(), h.cfg.Now(), day)
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "freshness", h.view(r, s, "NAV freshness", "freshness", f))
	return nil
}

type quarantineView struct {
	Status, Reason string
	Rows           []postgres.Quarantined
	Reasons        []Count
	CanReplay      bool
}

func (h *Handler) quarantine(w http.ResponseWriter, r *http.Request, s session) error {
	q := r.URL.Query()
	status := q.Get("status")
	switch status {
	case "":
		status = "open"
	case "open", "replayed", "accepted", "dismissed", "all":
	default:
		return badInput("status: one of open, replayed, accepted, dismissed, all")
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	st := status
	if st == "all" {
		st = ""
	}
	rows, err := h.cfg.Store.Quarantine(r.Context(), st, q.Get("reason"), limit)
	if err != nil {
		return err
	}
	reasons, err := h.cfg.Store.QuarantineReasons(r.Context())
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "quarantine", h.view(r, s, "Quarantine", "quarantine",
		quarantineView{Status: status, Reason: q.Get("reason"), Rows: rows, Reasons: reasons, CanReplay: h.cfg.NAVIngest != nil}))
	return nil
}

type quarantinedView struct {
	Q         postgres.Quarantined
	CanReplay bool
}

func (h *Handler) quarantined(w http.ResponseWriter, r *http.Request, s session) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	q, err := h.cfg.Store.Quarantined(r.Context(), id)
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "quarantined", h.view(r, s, fmt.Sprintf("Quarantined row %d", id), "quarantine", quarantinedView{Q: q, CanReplay: h.cfg.NAVIngest != nil}))
	return nil
}

// replayRows runs jobs/replay over the open NAV rows selected, as
// `fundflow quarantine replay [--reason R] [--id N] [--accept --by WHO]`.
func (h *Handler) replayRows(ctx context.Context, reason string, ids []int64, accept bool, by string) (replay.Summary, error) {
	if h.cfg.NAVIngest == nil {
		return replay.Summary{}, badInput("quarantine replay writes through nav-ingest's sinks: the config has no pipelines.nav-ingest section")
	}
	opt := replay.Options{Filter: postgres.QuarantineFilter{Pipelines: navPipelines, Reason: reason, Status: "open", IDs: ids}, Accept: accept, By: by}
	sum, err := replay.Run(ctx, h.cfg.NAV, h.cfg.NAVIngest, opt)
	if errors.Is(err, replay.ErrNotAcceptable) {
		return sum, badInput(err.Error())
	}
	return sum, err
}

func summary(verb string, sum replay.Summary) string {
	msg := fmt.Sprintf("%s: %d row(s) considered, %d published and marked %s", verb, sum.Considered, sum.Published, sum.MarkedAs)
	if n := len(sum.StillOpen); n > 0 {
		var parts []string
		for reason, c := range sum.StillOpen {
			parts = append(parts, fmt.Sprintf("%d %s", c, reason))
		}
		msg += "; still quarantined: " + strings.Join(parts, ", ")
	}
	return msg
}

// replay is the Replay button: one row (id) or every open row of a
// reason (or all), through today's rules.
func (h *Handler) replay(w http.ResponseWriter, r *http.Request, s session) error {
	var ids []int64
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return badInput("id: " + v + " is not a row id")
		}
		ids = append(ids, id)
	}
	reason := r.PostFormValue("reason")
	sum, err := h.replayRows(r.Context(), reason, ids, false, s.P.Subject)
	if err != nil {
		return err
	}
	h.cfg.Log.Info("ops console: quarantine replay", "by", s.P.Subject, "reason", reason, "ids", ids, "considered", sum.Considered, "published", sum.Published)
	back := "/ops/quarantine"
	if len(ids) == 1 {
		back = "/ops/quarantine/" + strconv.FormatInt(ids[0], 10)
	}
	http.Redirect(w, r, back+"?done="+url.QueryEscape(summary("Replay", sum)), http.StatusSeeOther)
	return nil
}

// accept is the Accept button of a row held for nav_jump that a person
// reviewed: `fundflow quarantine replay --accept --id N --by WHO`.
func (h *Handler) accept(w http.ResponseWriter, r *http.Request, s session) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	sum, err := h.replayRows(r.Context(), "", []int64{id}, true, s.P.Subject)
	if err != nil {
		return err
	}
	h.cfg.Log.Info("ops console: quarantine accept", "by", s.P.Subject, "id", id, "published", sum.Published)
	http.Redirect(w, r, fmt.Sprintf("/ops/quarantine/%d?done=%s", id, url.QueryEscape(summary("Accept", sum))), http.StatusSeeOther)
	return nil
}

type breaksView struct {
	Status, Type string
	Buckets      []string
	Types        []BreakTypeAges
	Breaks       []Break
}

func (h *Handler) breaks(w http.ResponseWriter, r *http.Request, s session) error {
	q := r.URL.Query()
	status, typ := q.Get("status"), q.Get("type")
	if status != "" && status != fund.BreakOpen && status != fund.BreakExplained {
		return badInput("status: open or explained")
	}
	limit, err := intParam(r, "limit", 200, 1, 2000)
	if err != nil {
		return err
	}
	types, list, err := h.cfg.Store.Breaks(r.Context(), h.today(), status, typ, limit)
	if err != nil {
		return err
	}
	var buckets []string
	for _, b := range AgeBuckets {
		buckets = append(buckets, b.Label)
	}
	h.render(w, http.StatusOK, "breaks", h.view(r, s, "Recon breaks", "breaks", breaksView{Status: status, Type: typ, Buckets: buckets, Types: types, Breaks: list}))
	return nil
}

// explain is `fundflow recon explain ID --by WHO --note TEXT`.
func (h *Handler) explain(w http.ResponseWriter, r *http.Request, s session) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if note == "" {
		return badInput("explain: write the explanation in the note")
	}
	if err := pgstore.New(h.cfg.Store.PG.Pool).ExplainBreak(r.Context(), id, s.P.Subject, note); err != nil {
		if pipelines.IsTransient(err) {
			return err
		}
		return badInput(err.Error())
	}
	h.cfg.Log.Info("ops console: recon break explained", "by", s.P.Subject, "id", id)
	http.Redirect(w, r, "/ops/breaks?done="+url.QueryEscape(fmt.Sprintf("Break %d explained by %s", id, s.P.Subject)), http.StatusSeeOther)
	return nil
}

type alertsView struct {
	Kind   string
	Alerts []Alert
	ByKind []Count
}

func (h *Handler) alerts(w http.ResponseWriter, r *http.Request, s session) error {
	kind := r.URL.Query().Get("kind")
	list, byKind, err := h.cfg.Store.OpenAlerts(r.Context(), kind, 500)
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "alerts", h.view(r, s, "Open alerts", "alerts", alertsView{Kind: kind, Alerts: list, ByKind: byKind}))
	return nil
}

type paymentsView struct {
	Breaks  []PaymentBreak
	Refunds []RefundDue
}

func (h *Handler) payments(w http.ResponseWriter, r *http.Request, s session) error {
	b, rf, err := h.cfg.Store.Payments(r.Context(), 500)
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "payments", h.view(r, s, "Payments", "payments", paymentsView{Breaks: b, Refunds: rf}))
	return nil
}
