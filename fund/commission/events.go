package commission

import (
	"fmt"
	"strconv"

	"github.com/fundflow/fundflow/fund"
)

// EventKind is the kind of an amount computed from one transaction.
type EventKind string

// Event kinds: the platform's first-SIP and referral amounts, SEBI's
// upfronted trail on a new investor's small SIP, and its clawback.
const (
	KindFirstSIP EventKind = "first_sip"
	KindReferral EventKind = "referral"
	KindUpfront  EventKind = "upfront"
	KindClawback EventKind = "clawback"
)

// TxFacts is what the event rules need to know of one completed ledger
// transaction, read from the ledger (the event names the transaction; the
// facts are its rows and their lineage).
type TxFacts struct {
	TxID   int64
	Kind   string // purchase, redemption, switch_out, switch_in
	Folio  string
	Scheme string
	Plan   Plan
	Day    fund.Date   // the NAV date
	Amount fund.Amount // purchase: the gross amount (the SIP instalment)
	Units  fund.Units  // purchase: the lot's units
	ARN    string      // the ARN the order came through ("" direct)
	EUIN   string
	LotID  int64 // purchase: the lot it made
	// SIP: the purchase is a SIP instalment; FirstSIP: the folio's first
	// SIP instalment in the scheme.
	SIP, FirstSIP bool
	// FirstInvestment: the investor's first ledger transaction;
	// NewInvestorSIP: the SIP's plan began with the investor's first
	// investment (a new investor's SIP, whose instalments may be upfronted).
	FirstInvestment, NewInvestorSIP bool
	// Consumed: for a redemption or switch-out, the lots it took units from
	// (the ledger's own FIFO) and the upfront paid on each (Lot.Upfront zero:
	// none), with the bucket the upfront was paid to.
	Consumed []Consumption
}

// Consumption is a lot a redemption took units from.
type Consumption struct {
	Lot    Lot
	Taken  fund.Units
	Bucket string // where the lot's upfront went
	ARN    string
}

// EventLine is one amount computed from a transaction: to Bucket (the ARN,
// or "held:<ARN>" with Reason when the ARN is not registered that day).
// Amount is positive; a clawback is taken back from Bucket.
type EventLine struct {
	Key          string      `json:"key"` // <kind>:<tx id>[:<lot id>]: once per transaction (and lot)
	Kind         EventKind   `json:"kind"`
	Bucket       string      `json:"bucket"`
	ARN          string      `json:"arn"`
	Amount       fund.Amount `json:"amount"`
	LotID        int64       `json:"lot_id,omitempty"`
	ClawbackDays int         `json:"clawback_days,omitempty"`
	Units        fund.Units  `json:"units"`
	Reason       string      `json:"reason,omitempty"`
}

func eventKey(k EventKind, tx, lot int64) string {
	s := string(k) + ":" + strconv.FormatInt(tx, 10)
	if lot != 0 {
		s += ":" + strconv.FormatInt(lot, 10)
	}
	return s
}

// EventCommissions returns what one completed transaction earns or claws
// back (each amount rounded once, half-up to the paisa):
//
//   - a purchase of a regular plan through an ARN, under the structure in
//     force on its NAV date: the first-SIP amount on the folio's first SIP
//     instalment in the scheme; the referral amount on the investor's
//     first investment; and the upfronted trail (UpfrontEligible) on a new
//     investor's SIP instalment, recorded on its lot with the period;
//   - a redemption or switch-out: for each lot it consumed that carries an
//     upfront, ClawLot of the units taken, from the bucket the upfront went
//     to (whatever the ARN or plan now).
//
// A direct plan or a transaction without an ARN earns nothing. An ARN not
// registered on the day is held ("held:<ARN>"), never paid to another.
func EventCommissions(t *Table, h *Hierarchy, f TxFacts) ([]EventLine, error) {
	switch f.Kind {
	case "redemption", "switch_out":
		var out []EventLine
		for _, c := range f.Consumed {
			cl, ok, err := ClawLot(c.Lot, f.Day, c.Taken)
			if err != nil {
				return nil, fmt.Errorf("tx %d: %w", f.TxID, err)
			}
			if !ok {
				continue
			}
			out = append(out, EventLine{Key: eventKey(KindClawback, f.TxID, mustLotID(c.Lot.ID)), Kind: KindClawback, Bucket: c.Bucket,
				ARN: c.ARN, Amount: cl.Amount, LotID: mustLotID(c.Lot.ID), Units: cl.Units,
				Reason: fmt.Sprintf("%s units of lot %s taken %d days before its %d-day clawback period ended", cl.Units, c.Lot.ID, cl.UnexpiredDays, c.Lot.ClawbackDays)})
		}
		return out, nil
	case "purchase":
	default:
		return nil, nil
	}
	if f.ARN == "" || f.Plan != Regular {
		return nil, nil
	}
	s, ok := t.InForce(f.Scheme, f.Plan, f.Day)
	if !ok {
		return nil, nil
	}
	bucket, _, reason, err := Bucket(h, f.ARN, f.Day)
	if err != nil {
		return nil, err
	}
	var out []EventLine
	add := func(k EventKind, amt fund.Amount, lot int64, why string) {
		if amt.Sign() <= 0 {
			return
		}
		l := EventLine{Key: eventKey(k, f.TxID, lot), Kind: k, Bucket: bucket, ARN: f.ARN, Amount: amt, LotID: lot, Reason: why}
		if reason != "" {
			l.Reason = reason
		}
		if k == KindUpfront {
			l.ClawbackDays, l.Units = s.ClawbackDays, f.Units
		}
		out = append(out, l)
	}
	if f.SIP && f.FirstSIP {
		add(KindFirstSIP, s.FirstSIPAmount, 0, "the folio's first SIP instalment in "+f.Scheme)
	}
	if f.FirstInvestment {
		add(KindReferral, s.ReferralAmount, 0, "a new investor's first investment")
	}
	if f.SIP && UpfrontEligible(s, f.NewInvestorSIP, f.Amount) {
		add(KindUpfront, Upfront(s, f.Amount), f.LotID, fmt.Sprintf("%s %% of a new investor's SIP instalment of %s (at most %s)", s.UpfrontPct, f.Amount, s.UpfrontMaxSIP))
	}
	return out, nil
}

// mustLotID reads a Lot.ID written by the ledger (its holding_lots id).
func mustLotID(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}
