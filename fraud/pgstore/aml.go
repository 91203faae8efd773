package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/aml"
)

// AMLRule is the rule id of sanctions-screening alerts.
const AMLRule = "aml-un-sanctions"

// Restrict restricts an investor (ledger.SetRestriction with source aml:
// it holds the investor's pending legs in the same transaction).
type Restrict func(ctx context.Context, investorID, detail string) error

// ScreenResult is what one screening did.
type ScreenResult struct {
	Investors, Hits, NewAlerts int
}

// Screen screens every investor's name against the list: each hit
// restricts the investor (purchases and redemptions, public reason
// under_review) and raises an alert whose id is the rule, the investor
// and the listed entry, so a re-screen (a new list, or the same one
// again) raises only the matches it had not raised before and restricts
// again idempotently.
func (s *Store) Screen(ctx context.Context, sc *aml.Screener, restrict Restrict) (ScreenResult, error) {
	var res ScreenResult
	rows, err := s.Pool.Query(ctx, `SELECT id, name FROM investors WHERE name <> '' ORDER BY id`)
	if err != nil {
		return res, classify(fmt.Errorf("aml screen: %w", err))
	}
	type inv struct{ id, name string }
	invs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (inv, error) {
		var i inv
		return i, r.Scan(&i.id, &i.name)
	})
	if err != nil {
		return res, classify(fmt.Errorf("aml screen: %w", err))
	}
	version := sc.List.Version()
	for _, i := range invs {
		res.Investors++
		hits := sc.Screen(i.name)
		if len(hits) == 0 {
			continue
		}
		// one restriction per investor, naming every entry it matched
		var details []string
		for _, h := range hits {
			details = append(details, fmt.Sprintf("%s %s (%q, score %.3f)", h.Entry.Reference, h.Entry.DataID, h.Listed, h.Score))
		}
		if err := restrict(ctx, i.id, "UN consolidated list "+version+": "+strings.Join(details, "; ")); err != nil {
			return res, fmt.Errorf("aml restriction of %s: %w", i.id, err)
		}
		for k, h := range hits {
			res.Hits++
			detail := details[k]
			eventID := "aml:" + i.id + ":" + h.Entry.DataID
			f := fraud.Firing{RuleID: AMLRule, Kind: "aml_sanctions", Action: fraud.ActionAlert, Key: i.id, Investor: i.id, At: time.Now().UTC(),
				Event:    fraud.Ref{EventID: eventID, Lineage: "un-list:" + version + ":" + h.Entry.Reference},
				Evidence: []fraud.Ref{{EventID: eventID, Lineage: detail}}}
			var created bool
			err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
				var err error
				created, err = insertAlert(ctx, tx, 1, f)
				return err
			})
			if err != nil {
				return res, classify(err)
			}
			if created {
				res.NewAlerts++
			}
		}
	}
	return res, nil
}
