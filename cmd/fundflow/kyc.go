package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/kragen"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/jobs/kra"
	"github.com/fundflow/fundflow/jobs/supervise"
)

// kycCmd is `fundflow kyc`: the KYC gate's feed and the investor reports
// (issue 23).
type kycCmd struct {
	Load   kycLoadCmd   `cmd:"" help:"load the waiting KRA status and PAN-Aadhaar files (pipelines.kra) and apply them as the ledger's kyc restrictions; then the kyc_missing sweep and the refunds after refund_after"`
	Report kycReportCmd `cmd:"" help:"investors by KYC status and reason, folios without nomination or opt-out, investors missing a FATCA declaration, bank accounts not verified"`
}

// sealer is the PII key the investor master seals and fingerprints with
// (serve.api.pii_key_env): without it no PAN can be matched.
func sealer(d *deps) (*pii.Sealer, error) {
	env := d.cfg.Serve.API.PIIKeyEnv
	if os.Getenv(env) == "" {
		return nil, usageErr("%s is not set: the KYC gate matches PANs by their keyed fingerprints", env)
	}
	return pii.FromEnv(os.Getenv, env)
}

type kycLoadCmd struct{}

func (kycLoadCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		c := d.cfg.Pipelines.KRA
		if c == nil {
			return usageErr("kra is not configured: add a pipelines.kra section to the config")
		}
		s, err := sealer(d)
		if err != nil {
			return err
		}
		led, err := moneyLedger(d)
		if err != nil {
			return err
		}
		gate := &investors.Gate{Store: pgstore.Store{Pool: d.pg.Pool}, Ledger: led, PII: s, Now: d.now, Log: d.log}
		j := kra.Job{Config: c, PG: d.pg, Gate: gate, Ledger: led, CH: d.ch, Metrics: d.metrics, Now: d.now, Log: d.log}
		var out kra.Outcome
		if err := supervise.Single(a.ctx, d.pg, kra.Name, func(ctx context.Context) (err error) { out, err = j.Run(ctx); return err }); err != nil {
			return err
		}
		return printJSON(a.stdout, out)
	})
}

type kycReportCmd struct {
	Kind string `default:"all" enum:"all,status,nomination,fatca,banks" help:"Which report: all, status, nomination, fatca, banks."`
}

// The reports' queries: facts the investor master and the gate keep in the
// clear (no PII is opened).
var kycReports = []struct{ kind, title, sql string }{
	{"status", "investors by KYC status and reason", `SELECT coalesce(nullif(k.status, ''), 'no_record') AS status,
		coalesce(r.reason, '-') AS reason, count(*) FROM investor_profiles p
		LEFT JOIN kyc_status k ON k.investor_id = p.investor_id
		LEFT JOIN investor_restrictions r ON r.investor_id = p.investor_id AND r.source = 'kyc'
		GROUP BY 1, 2 ORDER BY 1, 2`},
	{"nomination", "folios without nomination or opt-out", `SELECT f.folio_no, f.investor_id, coalesce(p.nomination, 'no_record')
		FROM folios f LEFT JOIN investor_profiles p ON p.investor_id = f.investor_id
		WHERE p.investor_id IS NULL -- never onboarded: nothing on file
		   OR (p.nomination = 'not_applicable' AND p.tax_status IN ('resident_individual', 'nri'))
		ORDER BY 1`},
	{"fatca", "investors missing a FATCA declaration", `SELECT i.id, CASE WHEN p.investor_id IS NULL THEN 'no_record' ELSE 'not_declared' END
		FROM investors i LEFT JOIN investor_profiles p ON p.investor_id = i.id
		WHERE p.investor_id IS NULL OR NOT p.fatca_declared ORDER BY 1`},
	{"banks", "bank accounts not verified (no penny drop yet)", `SELECT investor_id, ifsc, account_mask, CASE WHEN is_default THEN 'default' ELSE '' END
		FROM investor_bank_accounts WHERE removed_at IS NULL ORDER BY 1, 2, 3`},
}

func (c kycReportCmd) Run(a *app) error {
	_, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	return kycReport(a.ctx, pool, c.Kind, a.stdout)
}

func kycReport(ctx context.Context, pool *pgxpool.Pool, kind string, w interface{ Write([]byte) (int, error) }) error {
	for _, r := range kycReports {
		if kind != "all" && kind != r.kind {
			continue
		}
		rows, err := pool.Query(ctx, r.sql)
		if err != nil {
			return fmt.Errorf("report %s: %w", r.kind, err)
		}
		fmt.Fprintf(w, "# %s\n", r.title)
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		n := 0
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				rows.Close()
				return err
			}
			for i, v := range vals {
				if i > 0 {
					fmt.Fprint(tw, "\t")
				}
				fmt.Fprint(tw, v)
			}
			fmt.Fprintln(tw)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("report %s: %w", r.kind, err)
		}
		_ = tw.Flush()
		fmt.Fprintf(w, "(%d rows)\n\n", n)
	}
	return nil
}

// genKRACmd is `fundflow gen kra`: KRA files for the onboarded investors.
type genKRACmd struct {
	Out         string  `required:"" help:"Folder to write kra_status.txt, pan_aadhaar.txt and truth.csv into (created if missing)." placeholder:"DIR"`
	Seed        uint64  `default:"1" help:"Random seed."`
	Hold        float64 `default:"0.1" help:"Fraction of investors put on hold or under process."`
	Reject      float64 `default:"0.05" help:"Fraction rejected."`
	Inoperative float64 `default:"0.05" help:"Fraction whose PAN is inoperative (not linked to Aadhaar)."`
	Bad         float64 `default:"0.02" help:"Fraction given an extra bad row (quarantined)."`
	Unknown     int     `default:"2" help:"Rows for PANs no investor has."`
}

func (c genKRACmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		s, err := sealer(d)
		if err != nil {
			return err
		}
		invs, err := onboardedPANs(a.ctx, d.pg.Pool, &investors.Service{Store: pgstore.Store{Pool: d.pg.Pool}, PII: s})
		if err != nil {
			return err
		}
		if err := os.MkdirAll(c.Out, 0o755); err != nil {
			return err
		}
		files := map[string]*os.File{}
		for _, n := range []string{"kra_status.txt", "pan_aadhaar.txt", "truth.csv"} {
			f, err := os.Create(filepath.Join(c.Out, n))
			if err != nil {
				return err
			}
			defer f.Close()
			files[n] = f
		}
		sum, err := kragen.Write(files["kra_status.txt"], files["pan_aadhaar.txt"], files["truth.csv"], invs, kragen.Options{Seed: c.Seed,
			Hold: c.Hold, Reject: c.Reject, Inoperative: c.Inoperative, Bad: c.Bad, Unknown: c.Unknown, At: d.now()})
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := f.Sync(); err != nil {
				return err
			}
		}
		return printJSON(a.stdout, sum)
	})
}

// onboardedPANs opens every onboarded investor's record for its PAN.
func onboardedPANs(ctx context.Context, pool *pgxpool.Pool, svc *investors.Service) ([]kragen.Investor, error) {
	rows, err := pool.Query(ctx, `SELECT investor_id FROM investor_profiles WHERE pan_fp <> '' ORDER BY investor_id`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make([]kragen.Investor, 0, len(ids))
	for _, id := range ids {
		r, err := svc.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, kragen.Investor{ID: id, PAN: r.Investor.PAN})
	}
	return out, nil
}
