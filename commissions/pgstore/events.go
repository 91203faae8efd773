package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// AccountPlatformExpense is the platform's side of its own event amounts
// (first SIP, referral): it pays them, not the AMC.
const AccountPlatformExpense = "platform:commission_expense"

var _ commissions.EventStore = Store{}

// sqlTxFacts reads what the event rules need of one ledger transaction: the
// ARN is the order's, else the folio's distributor of record; a SIP
// instalment is an order a SIP plan's instalment placed (plan_instalments).
const sqlTxFacts = `
SELECT lt.kind, lt.folio_no, lt.scheme_code, lt.nav_date, lt.amount, lt.units,
       coalesce(o.arn, f.arn, ''), coalesce(o.euin, f.euin, ''), coalesce(s.plan, ''), coalesce(hl.id, 0),
       coalesce(p.kind = 'sip', false) AS sip,
       coalesce(p.kind = 'sip', false) AND NOT EXISTS (
           SELECT 1 FROM ledger_transactions l2 JOIN orders o2 ON o2.id = l2.order_id
           JOIN plan_instalments pi2 ON pi2.order_id = o2.request_id JOIN plans p2 ON p2.id = pi2.plan_id AND p2.kind = 'sip'
           WHERE l2.folio_no = lt.folio_no AND l2.scheme_code = lt.scheme_code AND l2.id < lt.id) AS first_sip,
       NOT EXISTS (SELECT 1 FROM ledger_transactions l2 JOIN folios f2 ON f2.folio_no = l2.folio_no
           WHERE f2.investor_id = f.investor_id AND l2.id < lt.id) AS first_investment,
       coalesce(p.kind = 'sip', false) AND p.id = (
           SELECT pi3.plan_id FROM ledger_transactions l3 JOIN folios f3 ON f3.folio_no = l3.folio_no
           JOIN orders o3 ON o3.id = l3.order_id LEFT JOIN plan_instalments pi3 ON pi3.order_id = o3.request_id
           WHERE f3.investor_id = f.investor_id ORDER BY l3.id LIMIT 1) AS new_investor_sip
FROM ledger_transactions lt
JOIN orders o ON o.id = lt.order_id
JOIN folios f ON f.folio_no = lt.folio_no
LEFT JOIN schemes s ON s.code = lt.scheme_code
LEFT JOIN holding_lots hl ON hl.ledger_tx_id = lt.id
LEFT JOIN plan_instalments pi ON pi.order_id = o.request_id
LEFT JOIN plans p ON p.id = pi.plan_id
WHERE lt.id = $1`

// sqlConsumed reads the lots a redemption took units from, oldest first,
// with the upfront paid on each (none: 0).
const sqlConsumed = `
SELECT lc.lot_id, lc.units, hl.nav_date, hl.units, coalesce(ce.amount, 0), coalesce(ce.clawback_days, 0),
       coalesce(ce.bucket, ''), coalesce(ce.arn, '')
FROM lot_consumptions lc JOIN holding_lots hl ON hl.id = lc.lot_id
LEFT JOIN commission_events ce ON ce.lot_id = lc.lot_id AND ce.kind = 'upfront'
WHERE lc.ledger_tx_id = $1 ORDER BY hl.nav_date, hl.id`

func txFacts(ctx context.Context, tx pgx.Tx, txID int64) (commission.TxFacts, bool, error) {
	f := commission.TxFacts{TxID: txID}
	var navDate time.Time
	var amt, u decimal.Decimal
	var plan string
	err := tx.QueryRow(ctx, sqlTxFacts, txID).Scan(&f.Kind, &f.Folio, &f.Scheme, &navDate, &amt, &u, &f.ARN, &f.EUIN, &plan,
		&f.LotID, &f.SIP, &f.FirstSIP, &f.FirstInvestment, &f.NewInvestorSIP)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("tx %d facts: %w", txID, err)
	}
	f.Day = fund.DateOf(navDate)
	f.Plan = commission.Regular // as Positions: a scheme whose plan the master does not name is regular
	if p, err := commission.ParsePlan(plan); err == nil {
		f.Plan = p
	}
	if f.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding); err != nil {
		return f, false, fmt.Errorf("tx %d amount: %w", txID, err)
	}
	if f.Units, err = fund.UnitsFromDecimal(u, fund.MaxUnitsScale, fund.NoRounding); err != nil {
		return f, false, fmt.Errorf("tx %d units: %w", txID, err)
	}
	if f.Kind != "redemption" && f.Kind != "switch_out" {
		return f, true, nil
	}
	rows, err := tx.Query(ctx, sqlConsumed, txID)
	if err != nil {
		return f, false, fmt.Errorf("tx %d lots: %w", txID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c commission.Consumption
		var id int64
		var taken, lotUnits, up decimal.Decimal
		var lotDate time.Time
		if err := rows.Scan(&id, &taken, &lotDate, &lotUnits, &up, &c.Lot.ClawbackDays, &c.Bucket, &c.ARN); err != nil {
			return f, false, err
		}
		c.Lot.ID, c.Lot.Date, c.Lot.Upfront = strconv.FormatInt(id, 10), fund.DateOf(lotDate), amount(up)
		if c.Taken, err = fund.UnitsFromDecimal(taken, fund.MaxUnitsScale, fund.NoRounding); err != nil {
			return f, false, err
		}
		if c.Lot.Units, err = fund.UnitsFromDecimal(lotUnits, fund.MaxUnitsScale, fund.NoRounding); err != nil {
			return f, false, err
		}
		f.Consumed = append(f.Consumed, c)
	}
	return f, true, rows.Err()
}

// TopicCommission is the event of a transaction's commissions.
const TopicCommission = "commission.calculated"

// CommissionCalculated is the payload of commission.calculated: what one
// transaction earned or clawed back, by line.
type CommissionCalculated struct {
	EventID     string                 `json:"event_id"`
	SourceEvent string                 `json:"source_event"`
	TxID        int64                  `json:"tx_id"`
	Folio       string                 `json:"folio"`
	SchemeCode  string                 `json:"scheme_code"`
	Day         string                 `json:"day"`
	Lines       []commission.EventLine `json:"lines"`
}

// ApplyEvents implements commissions.EventStore: the batch's transactions in
// one Postgres transaction, in order (an upfront written by an earlier
// event is seen by a later redemption's clawback). Per transaction: its
// facts from the ledger, the rules (fund/commission.EventCommissions), each
// line once (the key is unique: a redelivered event writes nothing), its
// journal entry and postings, commission.calculated in the outbox and an
// audit row. A transaction not in the ledger is counted, not an error.
func (s Store) ApplyEvents(ctx context.Context, tb *commission.Table, h *commission.Hierarchy, evs []commissions.TxEvent) (commissions.EventResult, error) {
	var res commissions.EventResult
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		res = commissions.EventResult{}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('commissions:events'))`); err != nil {
			return err
		}
		for _, ev := range evs {
			f, ok, err := txFacts(ctx, tx, ev.TxID)
			if err != nil {
				return err
			}
			if !ok {
				res.Unknown++
				continue
			}
			lines, err := commission.EventCommissions(tb, h, f)
			if err != nil {
				return fmt.Errorf("tx %d: %w", ev.TxID, err)
			}
			var written []commission.EventLine
			for _, l := range lines {
				var lot *int64
				if l.LotID != 0 {
					lot = &l.LotID
				}
				tag, err := tx.Exec(ctx, `INSERT INTO commission_events (key, kind, source_event, tx_id, lot_id, day, arn, euin, folio_no,
						scheme_code, bucket, amount, clawback_days, units, reason)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (key) DO NOTHING`,
					l.Key, string(l.Kind), ev.EventID, f.TxID, lot, f.Day.Time(), l.ARN, f.EUIN, f.Folio, f.Scheme, l.Bucket,
					l.Amount.Decimal(), l.ClawbackDays, l.Units.Decimal(), l.Reason)
				if err != nil {
					return fmt.Errorf("commission %s: %w", l.Key, err)
				}
				if tag.RowsAffected() == 0 {
					res.Skipped++
					continue
				}
				if err := postEvent(ctx, tx, f.Day, l); err != nil {
					return err
				}
				written = append(written, l)
				res.Lines++
			}
			if len(written) == 0 {
				continue
			}
			payload, err := json.Marshal(CommissionCalculated{EventID: TopicCommission + ":" + strconv.FormatInt(f.TxID, 10),
				SourceEvent: ev.EventID, TxID: f.TxID, Folio: f.Folio, SchemeCode: f.Scheme, Day: f.Day.String(), Lines: written})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING`,
				TopicCommission+":"+strconv.FormatInt(f.TxID, 10), TopicCommission, f.Folio, payload); err != nil {
				return fmt.Errorf("commission.calculated of tx %d: %w", f.TxID, err)
			}
			if err := postgres.AppendAuditBy(ctx, tx, actor, "commission_event", strconv.FormatInt(f.TxID, 10), "calculated",
				map[string]any{"source_event": ev.EventID, "lines": len(written)}); err != nil {
				return err
			}
			res.Published++
		}
		return nil
	})
	if err != nil {
		err = postgres.Classify(err)
	}
	return res, err
}

// postEvent writes a line's journal entry: the AMC owes an upfront, the
// platform pays its own amounts, and a clawback takes an upfront back; each
// to or from the bucket's accrued account.
func postEvent(ctx context.Context, tx pgx.Tx, day fund.Date, l commission.EventLine) error {
	from := AccountReceivable
	if l.Kind == commission.KindFirstSIP || l.Kind == commission.KindReferral {
		from = AccountPlatformExpense
	}
	debit, credit := from, AccruedAccount(l.Bucket)
	if l.Kind == commission.KindClawback {
		debit, credit = credit, debit
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO commission_journal (key, kind, day, bucket, amount) VALUES ($1, 'event', $2, $3, $4) RETURNING id`,
		"event:"+l.Key, day.Time(), l.Bucket, l.Amount.Decimal()).Scan(&id); err != nil {
		return fmt.Errorf("journal %s: %w", l.Key, err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO commission_postings (tx_id, seq, account, amount) VALUES ($1, 0, $2, $3), ($1, 1, $4, $5)`,
		id, debit, l.Amount.Decimal(), credit, l.Amount.Neg().Decimal())
	return err
}

// MonthEvents implements commissions.PayoutStore's events: the month's event
// amounts by day, bucket, ARN, kind and, for a clawback, its upfront's day
// (the upfront on the same lot).
func (s Store) MonthEvents(ctx context.Context, month fund.Date) ([]commissions.EventDay, error) {
	next := commissions.MonthOf(month.AddDays(32))
	rows, err := s.Pool.Query(ctx, `SELECT e.day, e.bucket, e.arn, e.kind, u.day, sum(e.amount) FROM commission_events e
		LEFT JOIN commission_events u ON e.kind = 'clawback' AND u.kind = 'upfront' AND u.lot_id = e.lot_id
		WHERE e.day >= $1 AND e.day < $2 GROUP BY e.day, e.bucket, e.arn, e.kind, u.day
		ORDER BY e.day, e.bucket, e.arn, e.kind, u.day`, month.Time(), next.Time())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commissions.EventDay
	for rows.Next() {
		var e commissions.EventDay
		var t time.Time
		var kind string
		var amt decimal.Decimal
		var split *time.Time
		if err := rows.Scan(&t, &e.Bucket, &e.ARN, &kind, &split, &amt); err != nil {
			return nil, err
		}
		e.Day, e.Kind, e.Amount = fund.DateOf(t), commission.EventKind(kind), amount(amt)
		if split != nil {
			e.SplitDay = fund.DateOf(*split)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
