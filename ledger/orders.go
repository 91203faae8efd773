package ledger

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/fundflow/fundflow/fund"
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
	// HoldReason is the public reason of a held leg (kyc_on_hold, …);
	// a fraud or AML hold shows status under_review and no reason.
	HoldReason string `json:"hold_reason,omitempty"`
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
func (s *Service) PlaceOrders(ctx context.Context, ins []fund.OrderIntake) ([]Placed, error) {
	var out []Placed
	_, err := s.inTx(ctx, func(t *txn) error {
		out = make([]Placed, 0, len(ins))
		if err := t.prepareBatch(ins); err != nil {
			return err
		}
		for _, in := range ins {
			p, err := t.place(in)
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

// Place places one order request in its own transaction (PlaceOrders of
// one).
func (s *Service) Place(ctx context.Context, in fund.OrderIntake) (Placed, error) {
	out, err := s.PlaceOrders(ctx, []fund.OrderIntake{in})
	if err != nil {
		return Placed{}, err
	}
	return out[0], nil
}

// prepareBatch creates the investors and folios the batch names (in key
// order), and takes the match keys and the folio locks, all in a fixed
// order.
func (t *txn) prepareBatch(ins []fund.OrderIntake) error {
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
		fs, err := t.db.FoliosOfRequests(t.ctx, targets)
		if err != nil {
			return fmt.Errorf("folios of cancel targets: %w", err)
		}
		folios = append(folios, fs...)
	}
	if err := t.lockMatchKeys(keys...); err != nil {
		return err
	}
	if len(pairs) > 0 {
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].folio < pairs[j].folio })
		fs := make([]string, len(pairs))
		is := make([]string, len(pairs))
		for i, p := range pairs {
			fs[i], is[i] = p.folio, p.investor
		}
		if err := t.db.EnsureFolios(t.ctx, fs, is); err != nil {
			return fmt.Errorf("investors and folios: %w", err)
		}
	}
	return t.lockFolios(folios...)
}

func (t *txn) place(in fund.OrderIntake) (Placed, error) {
	r := in.Req
	p := Placed{ID: r.ID}
	body, fp, kind := json.RawMessage(r.Canonical()), r.Fingerprint(), string(r.Kind)
	status, reason, detail := "accepted", "", ""
	if in.Invalid != nil {
		status, reason, detail = "rejected", in.Invalid.Reason, in.Invalid.Detail
		body, fp = rawJSON(in.Raw), sha256Hex(in.Raw)
	}
	target := ""
	if r.Kind == fund.ReqCancel && in.Invalid == nil {
		target = r.TargetID
	}
	inserted, err := t.db.InsertRequest(t.ctx, StoredRequest{ID: r.ID, Kind: kind, Body: string(body), Fingerprint: fp, Source: in.Source,
		Status: status, Reason: reason, Detail: detail, TargetID: target})
	if err != nil {
		return p, fmt.Errorf("store request: %w", err)
	}
	if !inserted {
		return t.seenBefore(r.ID, fp)
	}
	if in.Invalid != nil {
		return t.refuse(p, r, reason, detail, false)
	}
	switch r.Kind {
	case fund.ReqCancel:
		return t.cancel(p, r)
	}
	// The investor must own the folio.
	owner, err := t.db.FolioOwner(t.ctx, r.Folio)
	if err != nil {
		return p, fmt.Errorf("folio %s: %w", r.Folio, err)
	}
	if owner != r.InvestorID {
		return t.refuse(p, r, RejectFolioInvestor, fmt.Sprintf("folio %s belongs to another investor than %s", r.Folio, r.InvestorID), true)
	}
	for _, code := range []string{r.SchemeCode, r.ToSchemeCode} {
		if code == "" {
			continue
		}
		if _, ok, err := t.db.Category(t.ctx, code); err != nil {
			return p, err
		} else if !ok {
			return t.refuse(p, r, RejectUnknownScheme, fmt.Sprintf("scheme %s is not in the scheme master", code), true)
		}
	}
	p.Outcome = OutcomeAccepted
	for _, leg := range in.Legs() { // placed_at: the effective time (fund.EffectiveTime)
		row := legRow{Leg: Leg{OrderLeg: leg}}
		st := fund.AwaitingPayment
		switch leg.Kind {
		case fund.SwitchIn:
			st = fund.AwaitingLeg
		case fund.Redemption, fund.SwitchOut:
			st = "" // decided below
		}
		initial := st
		if initial == "" {
			initial = fund.AwaitingPayment // replaced by pending_nav below, within this transaction
		}
		if err := t.db.InsertLeg(t.ctx, NewLeg{OrderLeg: leg, Status: initial, ReceivedAt: in.ReceivedAt, ClientPlacedAt: r.PlacedAt,
			TimeSource: cmp.Or(string(in.TimeSource), string(fund.TimeClient))}); err != nil {
			return p, fmt.Errorf("leg %s: %w", leg.ID, err)
		}
		row.Status = initial
		if st != "" {
			t.announce(&row, nil, 0)
		}
	}
	for _, leg := range in.Legs() {
		row, err := t.leg(leg.ID)
		if err != nil {
			return p, err
		}
		switch leg.Kind {
		case fund.Purchase:
			if err := t.matchWaiting(&row); err != nil {
				return p, err
			}
		case fund.Redemption, fund.SwitchOut:
			if err := t.decideNAVDate(&row, time.Time{}, ""); err != nil {
				return p, err
			}
			if err := t.tryAllotLeg(&row); err != nil {
				return p, err
			}
		}
	}
	legs, err := t.db.LegStates(t.ctx, r.ID)
	p.Legs = legs
	return p, err
}

// refuse records a request as rejected (updating the stored row when it was
// stored as accepted) and tells the platform on orders.status.
func (t *txn) refuse(p Placed, r fund.OrderRequest, reason, detail string, update bool) (Placed, error) {
	if update {
		if err := t.db.RefuseRequest(t.ctx, r.ID, reason, detail); err != nil {
			return p, err
		}
	}
	p.Outcome, p.Reason, p.Detail = OutcomeRejected, reason, detail
	ev := fund.OrderStatusChanged{EventID: fund.TopicOrderStatus + ":" + r.ID + ":request_rejected", OrderID: r.ID, RequestID: r.ID, Kind: string(r.Kind),
		Folio: r.Folio, SchemeCode: r.SchemeCode, Status: string(fund.Rejected), Reason: reason, At: t.svc.now().UTC().Format(time.RFC3339Nano)}
	t.emit(fund.TopicOrderStatus, ev.EventID, r.Folio, ev)
	t.audit("order_request", r.ID, "rejected", map[string]string{"reason": reason, "detail": detail})
	return p, nil
}

// seenBefore answers a request id that is already stored.
func (t *txn) seenBefore(id, fp string) (Placed, error) {
	p := Placed{ID: id}
	stored, err := t.db.Request(t.ctx, id)
	if err != nil {
		return p, err
	}
	if stored.Fingerprint != fp {
		p.Outcome, p.Reason = OutcomeConflict, "order_id_reused"
		p.Detail = fmt.Sprintf("order id %s was used before for a different request", id)
		return p, nil
	}
	p.Outcome = OutcomeDuplicate
	if stored.Status == "rejected" {
		p.Reason, p.Detail = stored.Reason, stored.Detail
	}
	legs, err := t.db.LegStates(t.ctx, id)
	p.Legs = legs
	return p, err
}

// cancel cancels every leg of the target request, unless one is allotted
// already. A purchase whose payment was captured gets a break (refund due,
// settleUnallotted).
func (t *txn) cancel(p Placed, r fund.OrderRequest) (Placed, error) {
	targetKind, found, err := t.db.AcceptedRequestKind(t.ctx, r.TargetID)
	if err != nil {
		return p, err
	}
	if !found {
		return t.refuse(p, r, RejectUnknownTarget, fmt.Sprintf("no accepted order request %s to cancel", r.TargetID), true)
	}
	if targetKind == string(fund.ReqCancel) {
		return t.refuse(p, r, RejectNotCancellable, fmt.Sprintf("%s is a cancel", r.TargetID), true)
	}
	states, err := t.db.LegStates(t.ctx, r.TargetID)
	if err != nil {
		return p, err
	}
	var legs []legRow
	for _, st := range states {
		// A failed read fails the money transaction: locking the empty
		// folio instead would let the cancel go on without the leg's lock.
		folio, err := t.db.FolioOf(t.ctx, st.ID)
		if err != nil {
			return p, fmt.Errorf("folio of leg %s: %w", st.ID, err)
		}
		if err := t.lockFolios(folio); err != nil {
			return p, err
		}
		row, err := t.leg(st.ID)
		if err != nil {
			return p, err
		}
		if row.Status == fund.Allotted {
			return t.refuse(p, r, RejectAlreadyAllotted, fmt.Sprintf("order %s is allotted already (ledger transaction %d)", row.ID, *row.TxID), true)
		}
		legs = append(legs, row)
	}
	for i := range legs {
		leg := &legs[i]
		if leg.Status.Final() {
			continue
		}
		// A captured payment gets its refund-due break in setStatus.
		if err := t.setStatus(leg, fund.Cancelled, "cancelled_by:"+r.ID, nil, 0); err != nil {
			return p, err
		}
	}
	p.Outcome = OutcomeAccepted
	p.Legs, err = t.db.LegStates(t.ctx, r.TargetID)
	return p, err
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

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
