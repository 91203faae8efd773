package plans

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
)

// Debiter presents a recurring debit against a mandate, idempotently by
// Debit.Key (connectors/razorpay.Client). A *razorpay.RefusedError is the
// gateway's final no; any other error is transient.
type Debiter interface {
	Present(ctx context.Context, d razorpay.Debit) (razorpay.Presented, error)
}

// Orders places order requests on the money path (ledger.Service): an
// instalment's order goes through the same allotment as any other.
type Orders interface {
	Place(ctx context.Context, in fund.OrderIntake) (ledger.Placed, error)
}

// RunInstalment is one instalment with what presenting and settling it need
// of its plan and mandate.
type RunInstalment struct {
	PlanID, Kind, InvestorID, Folio, SchemeCode, ToSchemeCode string
	MandateID, MandateStatus, CustomerID                      string
	NominalDate, DueDate                                      fund.Date
	Seq                                                       int
	Amount                                                    fund.Amount
	Status, Reason, Detail                                    string
	// Key is the idempotency key: the gateway call's and the order id.
	Key string
	// PlacedAt is when the instalment was first presented: the order's
	// time stamp, the same on every retry so a re-placed order is the same
	// request (a duplicate, never a conflict).
	PlacedAt                                  time.Time
	OrderID, GatewayOrderID, GatewayPaymentID string
	// WalletID: a SIP into a wallet. Its debit is a wallet deposit (notes
	// order_id wallet:<id>), credited and auto-invested by the wallet
	// service; no purchase order is placed here.
	WalletID string
}

// Cursor is where a keyset walk over instalments stands.
type Cursor struct {
	DueDate, PlanID string
}

// PresentStore is what presenting needs of the store.
type PresentStore interface {
	// ClaimDue returns up to limit instalments after cur, in (due date,
	// plan) order, that are due to be presented at now: status due,
	// present_after ≤ now, due_date ≤ today (IST), plan active, or claimed
	// before whatever the plan's status (its debit may be out: it
	// completes, like one presented before a cancel). Each gets
	// its idempotency key and first-presentation time if it has none yet
	// (one statement): a crash after the gateway call re-presents with the
	// same key and re-places the same order.
	ClaimDue(ctx context.Context, now time.Time, today string, cur Cursor, limit int) ([]RunInstalment, error)
	// MarkPresented moves a due instalment to presented with its order and
	// gateway ids, and writes ev, in one transaction. false: it was not due
	// any more (nothing changed).
	MarkPresented(ctx context.Context, in RunInstalment, at time.Time, ev ledger.Event) (bool, error)
	// FailDue moves a due instalment to failed (in.Reason, in.Detail),
	// recounts its plan's consecutive failures and writes ev, in one
	// transaction. false: it was not due any more.
	FailDue(ctx context.Context, in RunInstalment, at time.Time, ev ledger.Event) (bool, error)
}

// PresentStats counts what one presentation pass did.
type PresentStats struct {
	Presented int64 `json:"presented"`
	Failed    int64 `json:"failed"`          // refused by the gateway, mandate not active, order refused
	Retry     int64 `json:"retry,omitempty"` // transient failures: still due, the next run retries
}

// Reasons an instalment fails at presentation (besides the gateway's codes).
const (
	ReasonMandateNotActive = "mandate_not_active"
	ReasonOrderRejected    = "order_rejected"
	ReasonDebitFailed      = "debit_failed"
)

// presentBatch is how many due instalments one claim returns;
// presentWorkers how many are presented at once.
const (
	presentBatch   = 500
	presentWorkers = 8
)

// Present presents every instalment due now: a SIP's debit to the gateway
// (then its purchase order, paid by that debit, to the ledger), an STP's
// switch and an SWP's redemption by amount to the ledger. Each is presented
// once: the gateway call and the order carry the instalment's idempotency
// key, so a run after a crash gets the same debit and the same order back.
// A refused debit or order fails the instalment with the reason; a
// transient failure leaves it due for the next run.
func (s *Service) Present(ctx context.Context) (PresentStats, error) {
	var st PresentStats
	now := s.now()
	today := now.In(fund.IST()).Format(time.DateOnly)
	var cur Cursor
	var mu sync.Mutex
	for {
		batch, err := s.Store.ClaimDue(ctx, now, today, cur, presentBatch)
		if err != nil {
			return st, fmt.Errorf("present: due instalments: %w", err)
		}
		// The gateway calls dominate: presentWorkers at once. Each
		// instalment is its own key, order and transactions.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(presentWorkers)
		for _, in := range batch {
			g.Go(func() error {
				var one PresentStats
				err := s.presentOne(gctx, in, &one)
				mu.Lock()
				st.Presented, st.Failed, st.Retry = st.Presented+one.Presented, st.Failed+one.Failed, st.Retry+one.Retry
				mu.Unlock()
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return st, err
		}
		if len(batch) < presentBatch {
			return st, nil
		}
		last := batch[len(batch)-1]
		cur = Cursor{DueDate: last.DueDate.String(), PlanID: last.PlanID}
	}
}

func (s *Service) presentOne(ctx context.Context, in RunInstalment, st *PresentStats) error {
	var req fund.OrderRequest
	switch in.Kind {
	case "sip":
		switch {
		case in.MandateStatus != "confirmed":
			in.Reason, in.Detail = ReasonMandateNotActive, fmt.Sprintf("mandate %s is %s", in.MandateID, in.MandateStatus)
			return s.fail(ctx, in, st)
		case in.CustomerID == "":
			in.Reason, in.Detail = ReasonMandateNotActive, fmt.Sprintf("mandate %s has no gateway customer yet (its authorisation payment links it)", in.MandateID)
			return s.fail(ctx, in, st)
		}
		if s.Debiter == nil {
			return errors.New("present: no gateway client (Service.Debiter) to present SIP debits with")
		}
		notes := map[string]string{"order_id": in.Key, "plan_id": in.PlanID, "due_date": in.DueDate.String(), "seq": fmt.Sprint(in.Seq)}
		if in.WalletID != "" {
			// The capture is a wallet deposit: the ledger stores it
			// unmatched (no order has this id) and the wallet credits it.
			notes["order_id"], notes["instalment"] = WalletNotesPrefix+in.WalletID, in.Key
		}
		got, err := s.Debiter.Present(ctx, razorpay.Debit{Key: in.Key, TokenID: in.MandateID, CustomerID: in.CustomerID, Amount: in.Amount,
			Description: fmt.Sprintf("SIP instalment %d of plan %s", in.Seq, in.PlanID), Notes: notes})
		var refused *razorpay.RefusedError
		switch {
		case errors.As(err, &refused) && (refused.Status == 401 || refused.Status == 403):
			// Our keys, not the instalment: fail the run, leave it due.
			return fmt.Errorf("present: the gateway refused our credentials: %w", err)
		case errors.As(err, &refused) && refused.Status != 429:
			in.Reason, in.Detail = refused.Code, refused.Description
			if in.Reason == "" {
				in.Reason = ReasonDebitFailed
			}
			return s.fail(ctx, in, st)
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st.Retry++
			s.log().Warn("present: debit not presented, the next run retries", "plan", in.PlanID, "due", in.DueDate, "err", err)
			return nil
		}
		in.GatewayOrderID, in.GatewayPaymentID = got.GatewayOrderID, got.GatewayPaymentID
		if in.WalletID != "" {
			return s.markPresented(ctx, in, st)
		}
		req = fund.OrderRequest{Kind: fund.ReqPurchase, PaymentRef: got.GatewayOrderID}
	case "stp":
		req = fund.OrderRequest{Kind: fund.ReqSwitch, ToSchemeCode: in.ToSchemeCode}
	case "swp":
		req = fund.OrderRequest{Kind: fund.ReqRedemption}
	default:
		return fmt.Errorf("present: plan %s of unknown kind %q", in.PlanID, in.Kind)
	}
	amount := in.Amount
	req.ID, req.InvestorID, req.Folio, req.SchemeCode, req.Amount, req.Currency, req.PlacedAt =
		in.Key, in.InvestorID, in.Folio, in.SchemeCode, &amount, "INR", in.PlacedAt
	p, err := s.Orders.Place(ctx, fund.OrderIntake{Req: req, Source: "plans:" + in.PlanID, ReceivedAt: in.PlacedAt, At: in.PlacedAt, TimeSource: fund.TimeReceived})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The debit (if any) is out: the next run re-presents it with the
		// same key, gets the same gateway order back and places the order.
		st.Retry++
		s.log().Warn("present: order not placed, the next run retries", "plan", in.PlanID, "due", in.DueDate, "err", err)
		return nil
	}
	switch p.Outcome {
	case ledger.OutcomeRejected:
		in.Reason, in.Detail = ReasonOrderRejected, p.Reason+": "+p.Detail
		return s.fail(ctx, in, st)
	case ledger.OutcomeConflict:
		// The key names another request: never expected (keys are the
		// instalment's), and never a second order. Fail it for a person.
		in.Reason, in.Detail = ReasonOrderRejected, p.Reason+": "+p.Detail
		return s.fail(ctx, in, st)
	}
	in.OrderID = in.Key
	return s.markPresented(ctx, in, st)
}

// WalletNotesPrefix + a wallet id is a wallet deposit's notes.order_id
// (wallet.NotesPrefix; plans does not import the wallet service).
const WalletNotesPrefix = "wallet:"

func (s *Service) markPresented(ctx context.Context, in RunInstalment, st *PresentStats) error {
	in.Status = "presented"
	ok, err := s.Store.MarkPresented(ctx, in, s.now(), s.instalmentEvent(in, "presented"))
	if err != nil {
		return fmt.Errorf("present: mark %s %s presented: %w", in.PlanID, in.DueDate, err)
	}
	if ok {
		st.Presented++
	}
	return nil
}

func (s *Service) fail(ctx context.Context, in RunInstalment, st *PresentStats) error {
	in.Status = "failed"
	ok, err := s.Store.FailDue(ctx, in, s.now(), s.instalmentEvent(in, "failed"))
	if err != nil {
		return fmt.Errorf("present: fail %s %s: %w", in.PlanID, in.DueDate, err)
	}
	if ok {
		st.Failed++
	}
	return nil
}

// instalmentEvent is <kind>.instalment.<step> for in (plans/events.go).
func (s *Service) instalmentEvent(in RunInstalment, step string) ledger.Event {
	topic, key, ev := NewInstalmentEvent(step, InstalmentFacts{PlanID: in.PlanID, Kind: in.Kind, InvestorID: in.InvestorID,
		FolioNo: in.Folio, SchemeCode: in.SchemeCode, ToSchemeCode: in.ToSchemeCode, Seq: in.Seq, NominalDate: in.NominalDate,
		DueDate: in.DueDate, Amount: in.Amount.Decimal(), Status: in.Status, Reason: in.Reason, Detail: in.Detail,
		GatewayOrderID: in.GatewayOrderID, GatewayPaymentID: in.GatewayPaymentID, OrderID: in.OrderID}, s.now())
	return ledger.Event{ID: ev.EventID, Topic: topic, Key: key, Payload: ev}
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// maxKey is the longest idempotency key the gateway takes (Razorpay's
// receipt).
const maxKey = 40

// InstalmentKey is the idempotency key of plan's instalment due on due
// (YYYY-MM-DD): "<kind>-<plan id without pl_>-<YYYYMMDD>", the gateway
// call's and the ledger order's id. A plan id that would make it longer
// than 40 characters (or that has characters an order id cannot) is
// replaced by a hash of it.
func InstalmentKey(kind, planID, due string) string {
	day := strings.ReplaceAll(due, "-", "")
	short := strings.TrimPrefix(planID, "pl_")
	k := kind + "-" + short + "-" + day
	if len(k) <= maxKey && orderIDChars(short) {
		return k
	}
	h := sha256.Sum256([]byte(planID))
	return kind + "-h" + hex.EncodeToString(h[:])[:maxKey-len(kind)-len(day)-3] + "-" + day
}

func orderIDChars(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r)) {
			return false
		}
	}
	return s != ""
}
