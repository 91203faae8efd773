// Package review is the ops side of fraud and AML cases: list holds,
// release or reject one with four eyes (the ops user who acts is not the
// one who raised the hold or last touched its case), and close an alert as
// confirmed or a false positive. The holds are the ledger's (it audits
// release and reject); the alerts are fraud/pgstore's.
package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/ledger"
)

// Refusals (api/fraud.go maps them to problems).
var (
	ErrNotFound = errors.New("no such hold or alert")
	// ErrFourEyes: the acting user raised the hold or last touched its case.
	ErrFourEyes = errors.New("four eyes: another ops user must do this")
	ErrClosed   = errors.New("closed already")
	ErrBadInput = errors.New("bad input")
)

// Ledger is what review needs of the ledger (*ledger.Service).
type Ledger interface {
	Holds(ctx context.Context, f ledger.HoldFilter) ([]ledger.Hold, error)
	ReleaseHold(ctx context.Context, id int64, by string) (ledger.Hold, error)
	RejectHold(ctx context.Context, id int64, by, note string) (ledger.Hold, error)
}

// Service reviews cases.
type Service struct {
	Ledger Ledger
	Pool   *pgxpool.Pool
}

// Alert is a fraud alert as ops see it.
type Alert struct {
	ID            string    `json:"id"`
	RuleID        string    `json:"rule_id"`
	Kind          string    `json:"kind"`
	Action        string    `json:"action"`
	InvestorID    string    `json:"investor_id"`
	OrderID       string    `json:"order_id"`
	EventID       string    `json:"event_id"`
	Evidence      []byte    `json:"-"`
	Status        string    `json:"status"`
	HoldID        *int64    `json:"hold_id"`
	LastTouchedBy string    `json:"last_touched_by"`
	RaisedAt      time.Time `json:"raised_at"`
	Note          string    `json:"note"`
}

// Alert reads one alert.
func (s *Service) Alert(ctx context.Context, id string) (Alert, error) {
	var a Alert
	err := s.Pool.QueryRow(ctx, `SELECT id, rule_id, kind, action, investor_id, order_id, event_id, evidence, status, hold_id, last_touched_by, raised_at, note
		FROM fraud_alerts WHERE id = $1`, id).Scan(&a.ID, &a.RuleID, &a.Kind, &a.Action, &a.InvestorID, &a.OrderID, &a.EventID, &a.Evidence,
		&a.Status, &a.HoldID, &a.LastTouchedBy, &a.RaisedAt, &a.Note)
	if errors.Is(err, pgx.ErrNoRows) {
		return Alert{}, ErrNotFound
	}
	return a, err
}

// Holds lists holds (open ones by default), newest first.
func (s *Service) Holds(ctx context.Context, f ledger.HoldFilter) ([]ledger.Hold, error) {
	return s.Ledger.Holds(ctx, f)
}

func (s *Service) hold(ctx context.Context, id int64) (ledger.Hold, error) {
	// the ledger lists by order or investor; one hold by id is the
	// holds table's row
	var orderID string
	err := s.Pool.QueryRow(ctx, `SELECT order_id FROM order_holds WHERE id = $1`, id).Scan(&orderID)
	if errors.Is(err, pgx.ErrNoRows) {
		return ledger.Hold{}, ErrNotFound
	}
	if err != nil {
		return ledger.Hold{}, err
	}
	hs, err := s.Ledger.Holds(ctx, ledger.HoldFilter{OrderID: orderID, Limit: 1000})
	if err != nil {
		return ledger.Hold{}, err
	}
	for _, h := range hs {
		if h.ID == id {
			return h, nil
		}
	}
	return ledger.Hold{}, ErrNotFound
}

// fourEyes refuses by when they raised the hold or last touched its case
// (the fraud alert whose id is the hold's case_ref).
func (s *Service) fourEyes(ctx context.Context, h ledger.Hold, by string) error {
	if !h.Open() {
		return ErrClosed
	}
	if h.RaisedBy == by {
		return fmt.Errorf("%w: %s raised this hold", ErrFourEyes, by)
	}
	if h.CaseRef != "" {
		var touched string
		err := s.Pool.QueryRow(ctx, `SELECT last_touched_by FROM fraud_alerts WHERE id = $1`, h.CaseRef).Scan(&touched)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if touched == by {
			return fmt.Errorf("%w: %s last touched case %s", ErrFourEyes, by, h.CaseRef)
		}
	}
	return nil
}

// Release releases a hold (the leg's NAV date is decided afresh at the
// release time by the ledger).
func (s *Service) Release(ctx context.Context, id int64, by string) (ledger.Hold, error) {
	return s.close(ctx, id, by, func() (ledger.Hold, error) { return s.Ledger.ReleaseHold(ctx, id, by) })
}

// Reject rejects a hold: the ledger rejects the leg.
func (s *Service) Reject(ctx context.Context, id int64, by, note string) (ledger.Hold, error) {
	return s.close(ctx, id, by, func() (ledger.Hold, error) { return s.Ledger.RejectHold(ctx, id, by, note) })
}

func (s *Service) close(ctx context.Context, id int64, by string, act func() (ledger.Hold, error)) (ledger.Hold, error) {
	if by == "" {
		return ledger.Hold{}, fmt.Errorf("%w: no user", ErrBadInput)
	}
	h, err := s.hold(ctx, id)
	if err != nil {
		return ledger.Hold{}, err
	}
	if err := s.fourEyes(ctx, h, by); err != nil {
		return ledger.Hold{}, err
	}
	h, err = act()
	if errors.Is(err, ledger.ErrHoldClosed) {
		return ledger.Hold{}, ErrClosed
	}
	return h, err
}

// CloseAlert closes an open alert as confirmed or false_positive, audited
// in the same transaction; by becomes the case's last toucher (so another
// ops user releases or rejects its hold).
func (s *Service) CloseAlert(ctx context.Context, id, by, status, note string) (Alert, error) {
	if status != "confirmed" && status != "false_positive" {
		return Alert{}, fmt.Errorf("%w: status must be confirmed or false_positive, got %q", ErrBadInput, status)
	}
	if by == "" {
		return Alert{}, fmt.Errorf("%w: no user", ErrBadInput)
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var cur string
		err := tx.QueryRow(ctx, `SELECT status FROM fraud_alerts WHERE id = $1 FOR UPDATE`, id).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if cur != "open" {
			return ErrClosed
		}
		if _, err := tx.Exec(ctx, `UPDATE fraud_alerts SET status = $2, closed_by = $3, closed_at = now(), note = $4, last_touched_by = $3 WHERE id = $1`,
			id, status, by, note); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit_log (entity, entity_id, action, actor, payload) VALUES ('fraud_alert', $1, $2, $3,
			jsonb_build_object('status', $2::text, 'note', $4::text))`, id, status, by, note)
		return err
	})
	if err != nil {
		return Alert{}, err
	}
	return s.Alert(ctx, id)
}

// OpenAlerts lists the open alerts, newest first (at most limit), with
// their evidence and whether their hold was placed or refused.
func (s *Service) OpenAlerts(ctx context.Context, limit int) ([]OpenAlert, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, rule_id, kind, action, investor_id, order_id, event_id, evidence, status, hold_id, last_touched_by, raised_at, note, hold_error
		FROM fraud_alerts WHERE status = 'open' ORDER BY raised_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("open fraud alerts: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenAlert, error) {
		var a OpenAlert
		err := r.Scan(&a.ID, &a.RuleID, &a.Kind, &a.Action, &a.InvestorID, &a.OrderID, &a.EventID, &a.Evidence,
			&a.Status, &a.HoldID, &a.LastTouchedBy, &a.RaisedAt, &a.Note, &a.HoldError)
		if err == nil {
			err = json.Unmarshal(a.Evidence, &a.Refs)
		}
		return a, err
	})
}

// OpenAlert is an open alert with its evidence decoded and the ledger's
// refusal of its hold, if any.
type OpenAlert struct {
	Alert
	Refs      []fraud.Ref
	HoldError string
}
