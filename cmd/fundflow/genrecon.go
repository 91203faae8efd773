package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/rtagen"
	"github.com/fundflow/fundflow/sinks/postgres"
)

const genReconUsage = `usage:
  fundflow gen ledger --folios N [--seed S] [--end YYYY-MM-DD] [--days N]
                      [--schemes-per-folio K] [--txns-per-holding M] [--check]
      Write a synthetic ledger of N folios straight into the money path's tables
      (investors, folios, schemes and NAVs, orders, payments, balanced postings,
      FIFO lots, holdings) with COPY: about K schemes a folio and M transactions
      a holding over --days days up to --end. Needs a superuser connection (per-row
      triggers are skipped; --check verifies the ledger's invariants afterwards).
      Prints a JSON summary.
  fundflow gen rta --as-of YYYY-MM-DD --out DIR [--inject-rate R] [--seed S]
                   [--inject KIND,...] [--from YYYY-MM-DD] [--gzip] [--truth FILE]
      Write the RTAs' mailback files as they would be for our ledger as of the
      date: CAMS WBR22 (holdings) and WBR2 (transactions), comma-separated;
      KFintech MFSD203 and MFSD201, pipe-separated. With --inject-rate, that
      share of folios gets one difference (kinds: missing_folio, extra_folio,
      units_rounding_step, units_whole_transaction, nav_date_shift,
      stamp_duty_difference, merged_scheme_code, duplicate_transaction), each
      listed in the truth file (default DIR/truth/truth_YYYYMMDD.jsonl) with the
      breaks a reconciliation must report. Registers the RTA scheme codes it
      invents in rta_schemes. Prints a JSON summary.`

// cmdGenRecon is `fundflow gen ledger|rta`.
func cmdGenRecon(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErr("%s", genReconUsage)
	}
	fl := newFlags("gen " + args[0])
	var run func(ctx context.Context, pool *pgxpool.Pool) (any, error)
	switch args[0] {
	case "ledger":
		folios := fl.Int("folios", 0, "")
		seed := fl.Uint64("seed", 1, "")
		end := fl.String("end", "", "")
		days := fl.Int("days", 730, "")
		spf := fl.Int("schemes-per-folio", 2, "")
		tph := fl.Int("txns-per-holding", 5, "")
		check := fl.Bool("check", false, "")
		if err := fl.Parse(args[1:]); err != nil || *folios < 1 {
			return usageErr("gen ledger needs --folios N (>= 1)\n%s", genReconUsage)
		}
		opt := ledgergen.Options{Folios: *folios, Seed: *seed, Days: *days, SchemesPerFolio: *spf, TxnsPerHolding: *tph, Log: log}
		if *end != "" {
			d, err := fund.ParseISODate(*end)
			if err != nil {
				return usageErr("--end: %v", err)
			}
			opt.End = d
		}
		run = func(ctx context.Context, pool *pgxpool.Pool) (any, error) {
			st, err := ledgergen.Generate(ctx, pool, opt)
			if err != nil || !*check {
				return st, err
			}
			return st, ledgergen.Check(ctx, pool)
		}
	case "rta":
		asOf := fl.String("as-of", "", "")
		out := fl.String("out", "", "")
		rate := fl.Float64("inject-rate", 0, "")
		seed := fl.Uint64("seed", 1, "")
		inject := fl.String("inject", "", "")
		from := fl.String("from", "", "")
		gz := fl.Bool("gzip", false, "")
		truth := fl.String("truth", "", "")
		if err := fl.Parse(args[1:]); err != nil || *asOf == "" || *out == "" {
			return usageErr("gen rta needs --as-of and --out\n%s", genReconUsage)
		}
		opt := rtagen.Options{Out: *out, Rate: *rate, Seed: *seed, Gzip: *gz, Truth: *truth, Log: log}
		var err error
		if opt.AsOf, err = fund.ParseISODate(*asOf); err != nil {
			return usageErr("--as-of: %v", err)
		}
		if *from != "" {
			if opt.From, err = fund.ParseISODate(*from); err != nil {
				return usageErr("--from: %v", err)
			}
		}
		if *inject != "" {
			for _, k := range strings.Split(*inject, ",") {
				i, err := rtagen.ParseInjection(strings.TrimSpace(k))
				if err != nil {
					return usageErr("--inject: %v", err)
				}
				opt.Types = append(opt.Types, i)
			}
		}
		if opt.Rate < 0 || opt.Rate > 1 {
			return usageErr("--inject-rate must be between 0 and 1")
		}
		run = func(ctx context.Context, pool *pgxpool.Pool) (any, error) { return rtagen.Generate(ctx, pool, opt) }
	default:
		return usageErr("%s", genReconUsage)
	}
	// The config names the database's environment variables; without a
	// config file the defaults are used. The generators bulk-load behind the
	// tables' triggers, so they connect as the schema owner (migrate.URLs).
	svc := config.Services{PostgresURLEnv: "FUNDFLOW_PG_URL", PostgresMigrateURLEnv: "FUNDFLOW_PG_MIGRATE_URL"}
	if cfg, err := config.Load(g.config); err == nil {
		svc = cfg.Services
	} else if !errors.Is(err, os.ErrNotExist) {
		return &exitError{code: 2, err: err}
	}
	owner, _, err := migrate.URLs(svc)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	pool, err := postgres.Connect(ctx, owner)
	if err != nil {
		return err
	}
	defer pool.Close()
	res, err := run(ctx, pool)
	if err != nil {
		return err
	}
	return printJSON(stdout, res)
}
