package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Holds keep an order leg from being allotted until a person or a feed says
// it may go on: fraud rules and AML screening (source fraud, aml), the KYC
// gate (kyc) and bank verification (bank) all use this one mechanism, and
// the ledger enforces it wherever it allots (tryAllotLeg).
//
// A hold is per leg and source. An investor restriction (a KYC status that
// forbids purchases, an AML hit) is turned into a hold on each leg it
// blocks: eagerly by SetRestriction for the legs pending then, and by the
// allotment for a leg placed later. Releasing a leg's last hold re-decides
// its NAV date as if the order had arrived at the release (our clock): a
// held order never gets a NAV older than its release. Rejecting a hold
// rejects the leg, and a captured payment gets its refund-due break.

// Hold sources.
const (
	HoldFraud = "fraud"
	HoldAML   = "aml"
	HoldKYC   = "kyc"
	HoldBank  = "bank"
)

// ReasonUnderReview is the only reason an investor is shown for a fraud or
// AML hold: never the rule.
const ReasonUnderReview = fund.HoldUnderReview

// Hold resolutions.
const (
	HoldReleased = "released"
	HoldRejected = "rejected"
)

// TopicOrderHold is the outbox topic of every hold placed, released or
// rejected.
const TopicOrderHold = "orders.hold"

// ErrHoldClosed says a hold was released or rejected already.
var ErrHoldClosed = errors.New("hold is closed already")

// ErrNoHold says there is no hold with that id.
var ErrNoHold = errors.New("no such hold")

// HoldRequest asks for a hold on leg OrderID. Reason is the public code the
// investor sees (ReasonUnderReview for fraud and AML); Detail and CaseRef
// are for operations only.
type HoldRequest struct {
	OrderID, Source, Reason, Detail, CaseRef, By string
}

// Hold is one hold of one leg by one source.
type Hold struct {
	ID                                                   int64
	OrderID, InvestorID, Source, Reason, Detail, CaseRef string
	RaisedBy                                             string
	RaisedAt                                             time.Time
	ClosedAt                                             *time.Time
	ClosedBy, Resolution, Note                           string
}

// Open says the hold still keeps its leg.
func (h Hold) Open() bool { return h.ClosedAt == nil }

// HoldFilter selects holds; empty fields select all.
type HoldFilter struct {
	OrderID, InvestorID, Source string
	OpenOnly                    bool
	Limit                       int // 0: 100
}

// Restriction is what an investor may not do now, by one source.
type Restriction struct {
	InvestorID, Source, Reason, Detail string
	BlocksPurchase, BlocksRedemption   bool
	// BlocksNewFolio holds a purchase into a folio with no allotment yet
	// (opening a folio), decided where the leg is allotted (the store
	// knows whether the folio has one); BlocksPurchase implies it.
	BlocksNewFolio bool
	By             string
	Since          time.Time
}

// Blocks says whether r keeps a leg of kind k: purchases by BlocksPurchase,
// redemptions by BlocksRedemption, switch legs by either (a switch never
// half-executes).
func (r Restriction) Blocks(k fund.TxKind) bool {
	if r.Source == HoldBank {
		return k == fund.Redemption // see checkRestriction
	}
	switch k {
	case fund.SwitchIn, fund.SwitchOut:
		return r.BlocksPurchase || r.BlocksRedemption
	case fund.Redemption:
		return r.BlocksRedemption
	default:
		return r.BlocksPurchase
	}
}

// checkHold checks what a hold says of itself (its source, public reason and
// who raises it), for PlaceHold and for the holds a restriction places.
func checkHold(h HoldRequest) error {
	switch h.Source {
	case HoldFraud, HoldAML, HoldKYC, HoldBank:
	default:
		return fmt.Errorf("hold source %q: want fraud, aml, kyc or bank", h.Source)
	}
	switch {
	case h.Reason == "":
		return errors.New("hold: reason is empty")
	case h.By == "":
		return errors.New("hold: who raises it is empty")
	}
	if (h.Source == HoldFraud || h.Source == HoldAML) && h.Reason != ReasonUnderReview {
		return fmt.Errorf("hold: a %s hold shows the investor %q only, not %q", h.Source, ReasonUnderReview, h.Reason)
	}
	return nil
}

// PlaceHold holds a leg. An open hold of the same leg and source is
// returned as it is (created false). A leg that is allotted or ended is
// refused: there is nothing left to hold.
func (s *Service) PlaceHold(ctx context.Context, req HoldRequest) (Hold, bool, error) {
	if req.OrderID == "" {
		return Hold{}, false, errors.New("hold: order id is empty")
	}
	if err := checkHold(req); err != nil {
		return Hold{}, false, err
	}
	var h Hold
	var created bool
	_, err := s.inTx(ctx, func(t *txn) error {
		var err error
		h, created, err = t.holdLeg(req)
		return err
	})
	return h, created, err
}

// holdLeg locks req's leg and holds it, unless it has ended.
func (t *txn) holdLeg(req HoldRequest) (Hold, bool, error) {
	r, err := t.lockLeg(req.OrderID)
	if err != nil {
		return Hold{}, false, err
	}
	if r.Status.Final() {
		return Hold{}, false, fmt.Errorf("hold %s: the order is %s already", req.OrderID, r.Status)
	}
	return t.placeHold(&r, req)
}

// lockLeg locks a leg's folio, then the leg (steps 3 and 4 of the lock
// order).
func (t *txn) lockLeg(id string) (legRow, error) {
	folio, err := t.db.FolioOf(t.ctx, id)
	if err != nil {
		return legRow{}, fmt.Errorf("order %s: %w", id, err)
	}
	if err := t.lockFolios(folio); err != nil {
		return legRow{}, err
	}
	return t.leg(id)
}

// placeHold writes a hold of leg r (locked) and announces it.
func (t *txn) placeHold(r *legRow, req HoldRequest) (Hold, bool, error) {
	h, created, err := t.db.InsertHold(t.ctx, req, r.InvestorID)
	if err != nil {
		return h, false, fmt.Errorf("hold %s: %w", r.ID, err)
	}
	if created {
		t.announceHold(r, h, "placed")
	}
	if r.OnHold == "" {
		r.OnHold = h.Source
	}
	return h, created, nil
}

// HoldEvent is the payload of orders.hold. Reason is the public code;
// the rule or status behind a hold stays in audit_log.
type HoldEvent struct {
	EventID    string `json:"event_id"`
	HoldID     int64  `json:"hold_id"`
	OrderID    string `json:"order_id"`
	InvestorID string `json:"investor_id"`
	FolioNo    string `json:"folio_no"`
	Source     string `json:"source"`
	Reason     string `json:"reason"`
	Action     string `json:"action"` // placed, released, rejected
	At         string `json:"at"`
}

func (t *txn) announceHold(r *legRow, h Hold, action string) {
	ev := HoldEvent{EventID: fmt.Sprintf("%s:%d:%s", TopicOrderHold, h.ID, action), HoldID: h.ID, OrderID: h.OrderID,
		InvestorID: h.InvestorID, FolioNo: r.Folio, Source: h.Source, Reason: h.Reason, Action: action,
		At: t.svc.now().UTC().Format(time.RFC3339Nano)}
	t.emit(TopicOrderHold, ev.EventID, r.Folio, ev)
	by := h.RaisedBy
	if action != "placed" {
		by = h.ClosedBy
	}
	t.audit("order_hold", fmt.Sprint(h.ID), action, map[string]any{"event": ev, "detail": h.Detail, "case_ref": h.CaseRef, "by": by, "note": h.Note})
}

// ReleaseHold releases a hold. When it was its leg's last open hold, the
// leg's NAV date is decided again as if the order had arrived now, and it
// is allotted when that NAV is there.
func (s *Service) ReleaseHold(ctx context.Context, id int64, by string) (Hold, error) {
	return s.closeHold(ctx, id, by, HoldReleased, "")
}

// RejectHold rejects a hold and with it the leg (reason
// hold_rejected:<source>); a captured payment gets its refund-due break,
// and a switch-out's switch-in is rejected with it.
func (s *Service) RejectHold(ctx context.Context, id int64, by, note string) (Hold, error) {
	return s.closeHold(ctx, id, by, HoldRejected, note)
}

func (s *Service) closeHold(ctx context.Context, id int64, by, resolution, note string) (Hold, error) {
	if by == "" {
		return Hold{}, errors.New("close hold: who closes it is empty")
	}
	var h Hold
	_, err := s.inTx(ctx, func(t *txn) error {
		orderID, err := t.db.HoldOrder(t.ctx, id)
		if err != nil {
			return err
		}
		r, err := t.lockLeg(orderID)
		if err != nil {
			return err
		}
		h, err = t.closeHold(&r, id, by, resolution, note)
		return err
	})
	return h, err
}

// closeHold closes hold id of leg r (locked) and carries out what it says.
func (t *txn) closeHold(r *legRow, id int64, by, resolution, note string) (Hold, error) {
	h, err := t.db.CloseHold(t.ctx, id, by, resolution, note)
	if err != nil {
		return h, fmt.Errorf("hold %d: %w", id, err)
	}
	t.announceHold(r, h, resolution)
	if resolution == HoldRejected {
		if r.Status.Final() {
			return h, nil
		}
		return h, t.rejectLeg(r, "hold_rejected:"+h.Source, note)
	}
	return h, t.afterRelease(r)
}

// afterRelease re-decides a released leg's NAV date when no hold keeps it
// any more, and allots it if that NAV is there. A leg still waiting for
// its payment or its switch-out is decided when those arrive, as always.
func (t *txn) afterRelease(r *legRow) error {
	open, err := t.db.OpenHoldSource(t.ctx, r.ID)
	if err != nil {
		return err
	}
	r.OnHold = open
	if open != "" || r.Status != fund.PendingNAV {
		return nil
	}
	now := t.svc.now()
	funds := now
	if r.FundsAt != nil && r.FundsAt.After(now) {
		funds = *r.FundsAt
	}
	placed := r.PlacedAt
	if now.After(placed) {
		r.PlacedAt = now // decided as if received now; the stored placed_at is not changed
	}
	paymentID := ""
	if r.PaymentID != nil {
		paymentID = *r.PaymentID
	}
	if err := t.decideNAVDate(r, funds, paymentID); err != nil {
		return err
	}
	r.PlacedAt = placed
	r.navWhy = "released from hold at " + now.UTC().Format(time.RFC3339) + "; " + r.navWhy
	return t.tryAllotLeg(r)
}

// endHolds closes the open holds of a leg that ends without an allotment
// (cancelled, rejected): nothing is left for them to keep, and an open hold
// on an ended order would sit in operations' queue for ever.
func (t *txn) endHolds(r *legRow, why string) error {
	hs, err := t.db.CloseOpenHolds(t.ctx, r.ID, "ledger", why)
	if err != nil {
		return fmt.Errorf("holds of %s: %w", r.ID, err)
	}
	for _, h := range hs {
		t.announceHold(r, h, h.Resolution)
	}
	r.OnHold = ""
	return nil
}

// heldAtAllotment says whether leg r must wait for a hold instead of being
// allotted: an open hold, or an investor restriction that blocks its kind
// (turned into a hold here, raised by the ledger).
func (t *txn) heldAtAllotment(r *legRow) (bool, error) {
	if r.OnHold != "" {
		return true, nil
	}
	if r.Blocked == nil {
		return false, nil
	}
	b := r.Blocked
	_, _, err := t.placeHold(r, HoldRequest{OrderID: r.ID, Source: b.Source, Reason: b.Reason, Detail: b.Detail, By: "ledger"})
	return true, err
}

// Holds lists holds, newest first.
func (s *Service) Holds(ctx context.Context, f HoldFilter) ([]Hold, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	return s.Store.Holds(ctx, f)
}

// checkRestriction checks what a restriction says of itself. Bank
// verification (source bank) restricts payouts only: an investor whose
// default bank account is not verified may buy, and a redemption, the one
// leg that pays money out to the account, is held; a switch moves money
// between schemes, never to the bank, so it is not held (Blocks). IDCW
// payouts and refunds are not order legs: investors/banks.go holds those.
func checkRestriction(r Restriction) error {
	switch r.Source {
	case HoldFraud, HoldAML, HoldKYC:
	case HoldBank:
		if r.BlocksPurchase || r.BlocksNewFolio || !r.BlocksRedemption {
			return errors.New("a bank restriction holds payouts: redemptions only, never purchases")
		}
	default:
		return fmt.Errorf("restriction source %q: want fraud, aml, kyc or bank", r.Source)
	}
	if !r.BlocksPurchase && !r.BlocksRedemption && !r.BlocksNewFolio {
		return errors.New("restriction blocks nothing: lift it instead")
	}
	return checkHold(HoldRequest{Source: r.Source, Reason: r.Reason, Detail: r.Detail, By: r.By})
}

// SetRestriction records what an investor may not do (one row per source,
// replaced) and holds the investor's pending legs it blocks, in one
// transaction.
func (s *Service) SetRestriction(ctx context.Context, r Restriction) error {
	if err := checkRestriction(r); err != nil {
		return err
	}
	req := HoldRequest{Source: r.Source, Reason: r.Reason, Detail: r.Detail, By: r.By}
	_, err := s.inTx(ctx, func(t *txn) error {
		if err := t.lockInvestorFolios(r.InvestorID); err != nil {
			return err
		}
		if err := t.db.UpsertRestriction(t.ctx, r); err != nil {
			return fmt.Errorf("restriction of %s: %w", r.InvestorID, err)
		}
		legs, err := t.openLegsOf(r.InvestorID)
		if err != nil {
			return err
		}
		t.audit("investor_restriction", r.InvestorID+"/"+r.Source, "set", r)
		// The holds this source placed show its current reason (a PAN
		// turning inoperative under a KYC hold says so).
		if err := t.db.RenameOpenHolds(t.ctx, r.InvestorID, r.Source, r.Reason, r.Detail); err != nil {
			return fmt.Errorf("holds of %s: %w", r.InvestorID, err)
		}
		for i := range legs {
			l := &legs[i]
			if l.Status.Final() || !r.Blocks(l.Kind) {
				continue
			}
			req.OrderID = l.ID
			if _, _, err := t.placeHold(l, req); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// LiftRestriction removes an investor's restriction by source and releases
// that source's open holds of the investor's legs (each re-decided as
// ReleaseHold does). It returns how many holds it released.
func (s *Service) LiftRestriction(ctx context.Context, investorID, source, by string) (int, error) {
	if by == "" {
		return 0, errors.New("lift restriction: who lifts it is empty")
	}
	var n int
	_, err := s.inTx(ctx, func(t *txn) error {
		if err := t.lockInvestorFolios(investorID); err != nil {
			return err
		}
		found, err := t.db.DeleteRestriction(t.ctx, investorID, source)
		if err != nil {
			return fmt.Errorf("restriction of %s: %w", investorID, err)
		}
		// Read after the delete, so a leg's Blocked names only the
		// restrictions still in force.
		legs, err := t.openLegsOf(investorID)
		if err != nil {
			return err
		}
		if found {
			t.audit("investor_restriction", investorID+"/"+source, "lifted", map[string]string{"by": by})
		}
		holds, err := t.db.OpenHoldsOf(t.ctx, investorID, source)
		if err != nil {
			return err
		}
		byLeg := map[string]*legRow{}
		for i := range legs {
			byLeg[legs[i].ID] = &legs[i]
		}
		for _, h := range holds {
			l, ok := byLeg[h.OrderID]
			if !ok {
				return fmt.Errorf("hold %d: leg %s not among investor %s's legs", h.ID, h.OrderID, investorID)
			}
			if _, err := t.closeHold(l, h.ID, by, HoldReleased, "restriction lifted"); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// SetRestrictions is SetRestriction for many investors in one transaction
// (a KRA file's batch: one commit, and set-based statements, instead of a
// transaction per investor). Every restriction is checked first: one bad
// refuses the batch and nothing is written. Then the investors' folios are
// locked in folio order, the restrictions written, their sources' open
// holds given the current reason, and each pending leg a restriction
// blocks held. At most one restriction per investor and source. Every
// investor must have its row (investors): an unknown one refuses the batch.
func (s *Service) SetRestrictions(ctx context.Context, rs []Restriction) error {
	if len(rs) == 0 {
		return nil
	}
	ids, err := restrictionInvestors(rs)
	if err != nil {
		return err
	}
	_, err = s.inTx(ctx, func(t *txn) error {
		folios, err := t.lockFoliosOfInvestors(ids)
		if err != nil {
			return err
		}
		if err := t.db.UpsertRestrictions(t.ctx, rs); err != nil {
			return fmt.Errorf("restrictions: %w", err)
		}
		byInvestor := make(map[string][]Restriction, len(rs))
		for _, r := range rs {
			byInvestor[r.InvestorID] = append(byInvestor[r.InvestorID], r)
		}
		// One audit row for the batch naming every investor under its
		// restriction: the same facts as one row each, hashed once (a KRA
		// file restricts hundreds of thousands at a time).
		t.audit("investor_restriction", batchID(ids), "set_many", restrictionGroups(rs))
		if err := t.db.RenameOpenHoldsMany(t.ctx, rs); err != nil {
			return fmt.Errorf("holds of %d investors: %w", len(ids), err)
		}
		if len(folios) == 0 {
			return nil // no folio, no leg to hold
		}
		legs, err := t.db.OpenLegsOfFolios(t.ctx, folios)
		if err != nil {
			return fmt.Errorf("legs of %d investors: %w", len(ids), err)
		}
		for i := range legs {
			l := &legRow{Leg: legs[i]}
			for _, r := range byInvestor[l.InvestorID] {
				if l.Status.Final() || !r.Blocks(l.Kind) {
					continue
				}
				req := HoldRequest{OrderID: l.ID, Source: r.Source, Reason: r.Reason, Detail: r.Detail, By: r.By}
				if _, _, err := t.placeHold(l, req); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return err
}

// restrictionGroup is the restrictions of a batch that say the same, with
// their investors in batch order (the audit row of SetRestrictions).
type restrictionGroup struct {
	Restriction
	Investors []string `json:"investors"`
}

func restrictionGroups(rs []Restriction) map[string]any {
	var groups []*restrictionGroup
	at := map[Restriction]*restrictionGroup{}
	for _, r := range rs {
		k := r
		k.InvestorID, k.Since = "", time.Time{}
		g := at[k]
		if g == nil {
			g = &restrictionGroup{Restriction: k}
			at[k] = g
			groups = append(groups, g)
		}
		g.Investors = append(g.Investors, r.InvestorID)
	}
	return map[string]any{"count": len(rs), "groups": groups}
}

// batchID names a batch's audit row: its first and last investor and how
// many.
func batchID(ids []string) string {
	if len(ids) == 1 {
		return ids[0]
	}
	return fmt.Sprintf("%s..%s (%d)", ids[0], ids[len(ids)-1], len(ids))
}

// restrictionInvestors checks each restriction and returns their
// investors, each once.
func restrictionInvestors(rs []Restriction) ([]string, error) {
	seen := make(map[[2]string]bool, len(rs))
	inv := make(map[string]bool, len(rs))
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		if err := checkRestriction(r); err != nil {
			return nil, fmt.Errorf("restriction of %s: %w", r.InvestorID, err)
		}
		k := [2]string{r.InvestorID, r.Source}
		if seen[k] {
			return nil, fmt.Errorf("restriction of %s by %s twice in one batch", r.InvestorID, r.Source)
		}
		seen[k] = true
		if !inv[r.InvestorID] {
			inv[r.InvestorID] = true
			ids = append(ids, r.InvestorID)
		}
	}
	return ids, nil
}

// LiftRestrictions is LiftRestriction for many investors in one
// transaction: their restrictions of source removed and that source's open
// holds of their legs released (each re-decided as ReleaseHold does). It
// returns how many holds it released.
func (s *Service) LiftRestrictions(ctx context.Context, investorIDs []string, source, by string) (int, error) {
	if by == "" {
		return 0, errors.New("lift restrictions: who lifts them is empty")
	}
	if len(investorIDs) == 0 {
		return 0, nil
	}
	var n int
	_, err := s.inTx(ctx, func(t *txn) error {
		folios, err := t.lockFoliosOfInvestors(investorIDs)
		if err != nil {
			return err
		}
		found, err := t.db.DeleteRestrictions(t.ctx, investorIDs, source)
		if err != nil {
			return fmt.Errorf("restrictions of %d investors: %w", len(investorIDs), err)
		}
		if len(found) > 0 {
			t.audit("investor_restriction", batchID(found), "lifted_many", map[string]any{"source": source, "by": by, "investors": found})
		}
		holds, err := t.db.OpenHoldsOfMany(t.ctx, investorIDs, source)
		if err != nil || len(holds) == 0 {
			return err
		}
		// Read after the delete, so a leg's Blocked names only the
		// restrictions still in force.
		legs, err := t.db.OpenLegsOfFolios(t.ctx, folios)
		if err != nil {
			return fmt.Errorf("legs of %d investors: %w", len(investorIDs), err)
		}
		byLeg := make(map[string]*legRow, len(legs))
		for i := range legs {
			byLeg[legs[i].ID] = &legRow{Leg: legs[i]}
		}
		for _, h := range holds {
			l, ok := byLeg[h.OrderID]
			if !ok {
				return fmt.Errorf("hold %d: leg %s not among investor %s's open legs", h.ID, h.OrderID, h.InvestorID)
			}
			if _, err := t.closeHold(l, h.ID, by, HoldReleased, "restriction lifted"); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// lockFoliosOfInvestors locks the investors' folios in folio order and
// returns them.
func (t *txn) lockFoliosOfInvestors(ids []string) ([]string, error) {
	folios, err := t.db.FoliosOfInvestors(t.ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("folios of %d investors: %w", len(ids), err)
	}
	return folios, t.lockFolios(folios...)
}

// Restrictions lists an investor's restrictions.
func (s *Service) Restrictions(ctx context.Context, investorID string) ([]Restriction, error) {
	return s.Store.Restrictions(ctx, investorID)
}

// lockInvestorFolios locks an investor's folios, in folio order.
func (t *txn) lockInvestorFolios(investorID string) error {
	folios, err := t.db.FoliosOfInvestor(t.ctx, investorID)
	if err != nil {
		return fmt.Errorf("folios of %s: %w", investorID, err)
	}
	sort.Strings(folios)
	return t.lockFolios(folios...)
}

// openLegsOf reads an investor's legs that are not final, locked (the
// caller holds their folios' locks).
func (t *txn) openLegsOf(investorID string) ([]legRow, error) {
	legs, err := t.db.OpenLegsOf(t.ctx, investorID)
	if err != nil {
		return nil, fmt.Errorf("legs of %s: %w", investorID, err)
	}
	out := make([]legRow, len(legs))
	for i := range legs {
		out[i] = legRow{Leg: legs[i]}
	}
	return out, nil
}
