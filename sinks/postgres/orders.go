package postgres

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// Outcomes of placing an order request.
const (
	OutcomeAccepted  = "accepted"  // new, and its legs were created (or the cancel applied)
	OutcomeRejected  = "rejected"  // new, refused for Reason; recorded under its id
	OutcomeDuplicate = "duplicate" // the same request was placed before: nothing changed
	OutcomeConflict  = "conflict"  // the id was used before for another request: nothing changed
)

// LegState is an order leg's state as a caller sees it.
type LegState struct {
	ID      string `json:"order_id"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	NAVDate string `json:"nav_date,omitempty"`
	TxID    int64  `json:"tx_id,omitempty"`
}

// Placed is what happened to one order request.
type Placed struct {
	ID      string     `json:"request_id"`
	Outcome string     `json:"outcome"`
	Reason  string     `json:"reason,omitempty"`
	Detail  string     `json:"detail,omitempty"`
	Legs    []LegState `json:"legs,omitempty"`
}

// Reasons a well-formed request is refused when placed.
const (
	RejectUnknownScheme   = "unknown_scheme"
	RejectFolioInvestor   = "folio_investor_mismatch"
	RejectUnknownTarget   = "unknown_target"
	RejectAlreadyAllotted = "already_allotted"
	RejectNotCancellable  = "not_cancellable"
)

// PlaceOrders places a batch of order requests in ONE transaction, in order:
// each new request is stored under its client id (the idempotency key) with
// its legs; a purchase is matched to a payment that arrived before it; a
// redemption or switch-out gets its NAV date at once and is allotted if that
// NAV is there; a cancel cancels its target's legs that are not allotted. A
// request id seen before is a duplicate (same content) or a conflict (other
// content) and changes nothing. Locks: match keys, then every folio of the
// batch in folio order.
func (l *Ledger) PlaceOrders(ctx context.Context, ins []fund.OrderIntake) ([]Placed, error) {
	var out []Placed
	_, err := l.inTx(ctx, func(w *work) error {
		out = make([]Placed, 0, len(ins))
		if err := w.prepareBatch(ins); err != nil {
			return err
		}
		for _, in := range ins {
			p, err := w.place(in)
			if err != nil {
				return fmt.Errorf("order %s: %w", in.Req.ID, err)
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("place orders: %w", err)
	}
	return out, nil
}

// prepareBatch creates the investors and folios the batch names (in key
// order), and takes the match keys and the folio locks, all in a fixed
// order.
func (w *work) prepareBatch(ins []fund.OrderIntake) error {
	var keys, folios, targets []string
	type pair struct{ folio, investor string }
	var pairs []pair
	for _, in := range ins {
		if in.Invalid != nil {
			continue
		}
		r := in.Req
		switch r.Kind {
		case fund.ReqCancel:
			targets = append(targets, r.TargetID)
			continue
		case fund.ReqPurchase:
			keys = append(keys, r.ID, r.PaymentRef)
		}
		folios = append(folios, r.Folio)
		pairs = append(pairs, pair{r.Folio, r.InvestorID})
	}
	if len(targets) > 0 {
		// A cancel locks its target's folio: from the database, or from a
		// request earlier in this batch.
		rows, err := w.tx.Query(w.ctx, `SELECT DISTINCT folio_no FROM orders WHERE request_id = ANY($1)`, targets)
		if err != nil {
			return fmt.Errorf("folios of cancel targets: %w", err)
		}
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				rows.Close()
				return err
			}
			folios = append(folios, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	if err := w.lockMatchKeys(keys...); err != nil {
		return err
	}
	if len(pairs) > 0 {
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].folio < pairs[j].folio })
		fs := make([]string, len(pairs))
		is := make([]string, len(pairs))
		for i, p := range pairs {
			fs[i], is[i] = p.folio, p.investor
		}
		if _, err := w.tx.Exec(w.ctx, `INSERT INTO investors (id) SELECT DISTINCT i FROM unnest($1::text[]) AS i ORDER BY i ON CONFLICT (id) DO NOTHING`, is); err != nil {
			return fmt.Errorf("investors: %w", err)
		}
		if _, err := w.tx.Exec(w.ctx, `INSERT INTO folios (folio_no, investor_id)
			SELECT DISTINCT ON (f) f, i FROM unnest($1::text[], $2::text[]) AS x(f, i) ORDER BY f
			ON CONFLICT (folio_no) DO NOTHING`, fs, is); err != nil {
			return fmt.Errorf("folios: %w", err)
		}
	}
	return w.lockFolios(folios...)
}

func (w *work) place(in fund.OrderIntake) (Placed, error) {
	r := in.Req
	p := Placed{ID: r.ID}
	body, fp, kind := json.RawMessage(r.Canonical()), r.Fingerprint(), string(r.Kind)
	status, reason, detail := "accepted", "", ""
	if in.Invalid != nil {
		status, reason, detail = "rejected", in.Invalid.Reason, in.Invalid.Detail
		body, fp = rawJSON(in.Raw), sha256Hex(in.Raw)
	}
	var target any
	if r.Kind == fund.ReqCancel && in.Invalid == nil {
		target = r.TargetID
	}
	var inserted bool
	err := w.tx.QueryRow(w.ctx, `INSERT INTO order_requests (id, kind, body, body_sha256, source, status, reason, detail, target_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING RETURNING true`,
		r.ID, kind, string(body), fp, in.Source, status, reason, detail, target).Scan(&inserted)
	if errNoRows(err) {
		return w.seenBefore(r.ID, fp)
	}
	if err != nil {
		return p, fmt.Errorf("store request: %w", err)
	}
	if in.Invalid != nil {
		return w.refuse(p, r, reason, detail, false)
	}
	switch r.Kind {
	case fund.ReqCancel:
		return w.cancel(p, r)
	}
	// The investor must own the folio.
	var owner string
	if err := w.tx.QueryRow(w.ctx, `SELECT investor_id FROM folios WHERE folio_no = $1`, r.Folio).Scan(&owner); err != nil {
		return p, fmt.Errorf("folio %s: %w", r.Folio, err)
	}
	if owner != r.InvestorID {
		return w.refuse(p, r, RejectFolioInvestor, fmt.Sprintf("folio %s belongs to another investor than %s", r.Folio, r.InvestorID), true)
	}
	for _, code := range []string{r.SchemeCode, r.ToSchemeCode} {
		if code == "" {
			continue
		}
		if _, ok, err := w.category(code); err != nil {
			return p, err
		} else if !ok {
			return w.refuse(p, r, RejectUnknownScheme, fmt.Sprintf("scheme %s is not in the scheme master", code), true)
		}
	}
	p.Outcome = OutcomeAccepted
	for _, leg := range in.Legs() { // placed_at: the effective time (fund.EffectiveTime)
		row := legRow{OrderLeg: leg}
		st := fund.AwaitingPayment
		switch leg.Kind {
		case fund.SwitchIn:
			st = fund.AwaitingLeg
		case fund.Redemption, fund.SwitchOut:
			st = "" // decided below
		}
		var amount, units, switchID any
		if leg.Amount != nil {
			amount = leg.Amount.Decimal()
		}
		if leg.Units != nil {
			units = *leg.Units
		}
		if leg.SwitchID != "" {
			switchID = leg.SwitchID
		}
		initial := st
		if initial == "" {
			initial = fund.AwaitingPayment // replaced by pending_nav below, within this transaction
		}
		if _, err := w.tx.Exec(w.ctx, `INSERT INTO orders (id, request_id, switch_id, kind, investor_id, folio_no, scheme_code, amount, units,
				all_units, currency, payment_ref, placed_at, status, received_at, client_placed_at, time_source)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			leg.ID, leg.RequestID, switchID, leg.Kind.String(), leg.InvestorID, leg.Folio, leg.SchemeCode, amount, units,
			leg.AllUnits, leg.Currency, leg.PaymentRef, leg.PlacedAt, string(initial),
			nullTime(in.ReceivedAt), r.PlacedAt, cmp.Or(string(in.TimeSource), string(fund.TimeClient))); err != nil {
			return p, fmt.Errorf("leg %s: %w", leg.ID, err)
		}
		row.Status = initial
		if st != "" {
			w.announce(&row, nil, 0)
		}
	}
	for _, leg := range in.Legs() {
		row, err := w.leg(leg.ID)
		if err != nil {
			return p, err
		}
		switch leg.Kind {
		case fund.Purchase:
			if err := w.matchWaiting(&row); err != nil {
				return p, err
			}
		case fund.Redemption, fund.SwitchOut:
			if err := w.decideNAVDate(&row, time.Time{}, ""); err != nil {
				return p, err
			}
			if err := w.tryAllotLeg(&row); err != nil {
				return p, err
			}
		}
	}
	legs, err := w.legStates(r.ID)
	p.Legs = legs
	return p, err
}

// refuse records a request as rejected (updating the stored row when it was
// stored as accepted) and tells the platform on orders.status.
func (w *work) refuse(p Placed, r fund.OrderRequest, reason, detail string, update bool) (Placed, error) {
	if update {
		if _, err := w.tx.Exec(w.ctx, `UPDATE order_requests SET status = 'rejected', reason = $2, detail = $3 WHERE id = $1`, r.ID, reason, detail); err != nil {
			return p, err
		}
	}
	p.Outcome, p.Reason, p.Detail = OutcomeRejected, reason, detail
	ev := fund.OrderStatusChanged{EventID: TopicOrderStatus + ":" + r.ID + ":request_rejected", OrderID: r.ID, RequestID: r.ID, Kind: string(r.Kind),
		Folio: r.Folio, SchemeCode: r.SchemeCode, Status: string(fund.Rejected), Reason: reason, At: w.l.now().UTC().Format(time.RFC3339Nano)}
	w.emit(TopicOrderStatus, ev.EventID, r.Folio, ev)
	w.audit("order_request", r.ID, "rejected", map[string]string{"reason": reason, "detail": detail})
	return p, nil
}

// seenBefore answers a request id that is already stored.
func (w *work) seenBefore(id, fp string) (Placed, error) {
	p := Placed{ID: id}
	var storedFP, status, reason, detail string
	if err := w.tx.QueryRow(w.ctx, `SELECT body_sha256, status, reason, detail FROM order_requests WHERE id = $1`, id).Scan(&storedFP, &status, &reason, &detail); err != nil {
		return p, err
	}
	if storedFP != fp {
		p.Outcome, p.Reason = OutcomeConflict, "order_id_reused"
		p.Detail = fmt.Sprintf("order id %s was used before for a different request", id)
		return p, nil
	}
	p.Outcome = OutcomeDuplicate
	if status == "rejected" {
		p.Reason, p.Detail = reason, detail
	}
	legs, err := w.legStates(id)
	p.Legs = legs
	return p, err
}

func (w *work) legStates(requestID string) ([]LegState, error) {
	rows, err := w.tx.Query(w.ctx, `SELECT id, kind, status, reason, coalesce(to_char(nav_date, 'YYYY-MM-DD'), ''), coalesce(ledger_tx_id, 0)
		FROM orders WHERE request_id = $1 ORDER BY id DESC`, requestID) // "X#out" before "X#in"
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LegState
	for rows.Next() {
		var s LegState
		if err := rows.Scan(&s.ID, &s.Kind, &s.Status, &s.Reason, &s.NAVDate, &s.TxID); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// cancel cancels every leg of the target request, unless one is allotted
// already. A purchase whose payment was captured gets a break (refund due,
// settleUnallotted).
func (w *work) cancel(p Placed, r fund.OrderRequest) (Placed, error) {
	var targetKind string
	err := w.tx.QueryRow(w.ctx, `SELECT kind FROM order_requests WHERE id = $1 AND status = 'accepted'`, r.TargetID).Scan(&targetKind)
	if errNoRows(err) {
		return w.refuse(p, r, RejectUnknownTarget, fmt.Sprintf("no accepted order request %s to cancel", r.TargetID), true)
	}
	if err != nil {
		return p, err
	}
	if targetKind == string(fund.ReqCancel) {
		return w.refuse(p, r, RejectNotCancellable, fmt.Sprintf("%s is a cancel", r.TargetID), true)
	}
	states, err := w.legStates(r.TargetID)
	if err != nil {
		return p, err
	}
	var legs []legRow
	for _, s := range states {
		folio, err := w.folioOf(s.ID)
		if err != nil {
			return p, err
		}
		if !w.locked[folio] {
			if err := w.lockFolios(folio); err != nil {
				return p, err
			}
		}
		row, err := w.leg(s.ID)
		if err != nil {
			return p, err
		}
		if row.Status == fund.Allotted {
			return w.refuse(p, r, RejectAlreadyAllotted, fmt.Sprintf("order %s is allotted already (ledger transaction %d)", row.ID, *row.TxID), true)
		}
		legs = append(legs, row)
	}
	for i := range legs {
		leg := &legs[i]
		if leg.Status.Final() {
			continue
		}
		// A captured payment gets its refund-due break in setStatus.
		if err := w.setStatus(leg, fund.Cancelled, "cancelled_by:"+r.ID, nil, 0, ""); err != nil {
			return p, err
		}
	}
	p.Outcome = OutcomeAccepted
	p.Legs, err = w.legStates(r.TargetID)
	return p, err
}

// folioOf returns a leg's folio (read without a lock: folios never change).
// A failed read fails the money transaction: locking the empty folio instead
// would let the cancel go on without the leg's folio lock.
func (w *work) folioOf(legID string) (string, error) {
	var f string
	if err := w.tx.QueryRow(w.ctx, `SELECT folio_no FROM orders WHERE id = $1`, legID).Scan(&f); err != nil {
		return "", fmt.Errorf("folio of leg %s: %w", legID, err)
	}
	return f, nil
}

// rawJSON keeps a rejected request's bytes as JSON: as they are if jsonb
// can hold them, else as a JSON string of their base64 (bytes that are not
// UTF-8, or a \u0000 that jsonb refuses, must not fail the transaction
// that records the rejection).
func rawJSON(b []byte) json.RawMessage {
	if json.Valid(b) && utf8.Valid(b) && !bytes.Contains(b, []byte(`\u0000`)) {
		return json.RawMessage(b)
	}
	s, _ := json.Marshal("base64:" + base64.StdEncoding.EncodeToString(b))
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// OrderSink is the orders pipeline's sink: each batch is placed in one
// transaction (PlaceOrders), so the batch's Kafka offsets are committed only
// after it. Outcomes other than accepted are logged by the caller's stage
// counts; they are not errors.
type OrderSink struct{ L *Ledger }

// Name labels the sink's metrics.
func (OrderSink) Name() string { return "postgres-orders" }

// Write places the batch.
func (s OrderSink) Write(ctx context.Context, b pipelines.Batch[fund.OrderIntake]) error {
	if len(b.Items) == 0 {
		return nil
	}
	_, err := s.L.PlaceOrders(ctx, b.Items)
	return err
}
