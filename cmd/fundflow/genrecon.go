package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/rtagen"
	"github.com/fundflow/fundflow/sinks/postgres"
)

type genLedgerCmd struct {
	Folios          int      `required:"" help:"Folios to write (>= 1)." placeholder:"N"`
	Seed            uint64   `default:"1" help:"Random seed."`
	End             dateFlag `help:"The last day of the ledger." placeholder:"YYYY-MM-DD"`
	Days            int      `default:"730" help:"Days of transactions up to --end." placeholder:"N"`
	SchemesPerFolio int      `default:"2" help:"About this many schemes a folio." placeholder:"K"`
	TxnsPerHolding  int      `default:"5" help:"About this many transactions a holding." placeholder:"M"`
	Check           bool     `help:"Verify the ledger's invariants afterwards."`
}

func (genLedgerCmd) Help() string {
	return `Writes straight into the money path's tables (investors, folios, schemes and NAVs, orders, payments, balanced postings, FIFO lots, holdings) with COPY, as the schema's owner ($FUNDFLOW_PG_MIGRATE_URL): per-row triggers are skipped. Prints a JSON summary.`
}

func (c genLedgerCmd) Run(a *app) error {
	if c.Folios < 1 {
		return usageErr("gen ledger: --folios must be at least 1")
	}
	opt := ledgergen.Options{Folios: c.Folios, Seed: c.Seed, Days: c.Days, SchemesPerFolio: c.SchemesPerFolio, TxnsPerHolding: c.TxnsPerHolding, End: c.End.Date, Log: a.log}
	return a.asOwner(func(ctx context.Context, pool *pgxpool.Pool) (any, error) {
		st, err := ledgergen.Generate(ctx, pool, opt)
		if err == nil {
			err = a.factsOfGenerated(ctx, pool, opt) // the generator bypasses the outbox: its facts come from a resync
		}
		if err != nil || !c.Check {
			return st, err
		}
		return st, ledgergen.Check(ctx, pool)
	})
}

type genRTACmd struct {
	AsOf       dateFlag `required:"" name:"as-of" help:"The date the files are as of." placeholder:"YYYY-MM-DD"`
	Out        string   `required:"" help:"Folder to write into." placeholder:"DIR"`
	InjectRate float64  `name:"inject-rate" help:"The share of folios (0 to 1) that get one difference." placeholder:"R"`
	Seed       uint64   `default:"1" help:"Random seed."`
	Inject     []string `help:"Inject only these kinds of difference (comma-separated)." placeholder:"KIND,..."`
	From       dateFlag `help:"The first day of the transaction files." placeholder:"YYYY-MM-DD"`
	Gzip       bool     `help:"Gzip the files."`
	Truth      string   `help:"The truth file (default: DIR/truth/truth_YYYYMMDD.jsonl)." placeholder:"FILE"`
}

func (genRTACmd) Help() string {
	return `The RTAs' mailback files as they would be for our ledger as of the date: CAMS WBR22 (holdings) and WBR2 (transactions), comma-separated; KFintech MFSD203 and MFSD201, pipe-separated. Each injected difference (kinds: missing_folio, extra_folio, units_rounding_step, units_whole_transaction, nav_date_shift, stamp_duty_difference, merged_scheme_code, duplicate_transaction) is listed in the truth file with the breaks a reconciliation must report. Registers the RTA scheme codes it invents in rta_schemes. Prints a JSON summary.`
}

func (c genRTACmd) Run(a *app) error {
	if c.InjectRate < 0 || c.InjectRate > 1 {
		return usageErr("--inject-rate must be between 0 and 1")
	}
	opt := rtagen.Options{Out: c.Out, Rate: c.InjectRate, Seed: c.Seed, Gzip: c.Gzip, Truth: c.Truth, AsOf: c.AsOf.Date, From: c.From.Date, Log: a.log}
	for _, k := range c.Inject {
		i, err := rtagen.ParseInjection(strings.TrimSpace(k))
		if err != nil {
			return usageErr("--inject: %v", err)
		}
		opt.Types = append(opt.Types, i)
	}
	return a.asOwner(func(ctx context.Context, pool *pgxpool.Pool) (any, error) { return rtagen.Generate(ctx, pool, opt) })
}

// asOwner runs a generator connected as the schema's owner and prints its
// summary. The config names the database's environment variables; without a
// config file the defaults are used. The generators bulk-load behind the
// tables' triggers, so they connect as the owner (migrate.URLs).
func (a *app) asOwner(gen func(ctx context.Context, pool *pgxpool.Pool) (any, error)) error {
	svc := config.Services{PostgresURLEnv: "FUNDFLOW_PG_URL", PostgresMigrateURLEnv: "FUNDFLOW_PG_MIGRATE_URL"}
	if cfg, err := config.Load(a.g.Config); err == nil {
		svc = cfg.Services
	} else if !errors.Is(err, os.ErrNotExist) {
		return &exitError{code: 2, err: err}
	}
	owner, _, err := migrate.URLs(svc)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	pool, err := postgres.Connect(a.ctx, owner)
	if err != nil {
		return err
	}
	defer pool.Close()
	res, err := gen(a.ctx, pool)
	if err != nil {
		return err
	}
	return printJSON(a.stdout, res)
}
