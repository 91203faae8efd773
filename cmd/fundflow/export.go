package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/fundflow/fundflow/exports"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/pii"
)

func exportUsage() string {
	about := exports.About()
	var b strings.Builder
	b.WriteString(`usage:
  fundflow export KIND --from YYYY-MM-DD --to YYYY-MM-DD [--format csv|parquet] [--out DIR]
                  [--to-sftp] [--sftp-dir DIR]
      Write a compliance export of the period (dates inclusive) into DIR (default
      .) as KIND_FROM_TO.FORMAT and KIND_FROM_TO.manifest.json (rows, bytes,
      SHA-256, columns). --to-sftp also uploads both to DIR (default /outgoing/
      compliance) on the SFTP server in $FUNDFLOW_SFTP_* (manifest last). A
      progress bar goes to stderr; the manifest is printed on stdout.
  kinds:
`)
	names := exports.KindNames()
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "    %-13s %s\n", k, about[k])
	}
	return strings.TrimRight(b.String(), "\n")
}

func cmdExport(ctx context.Context, g globals, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageErr("%s", exportUsage())
	}
	kind := args[0]
	fs := newFlags("export")
	from := fs.String("from", "", "")
	to := fs.String("to", "", "")
	format := fs.String("format", "csv", "")
	out := fs.String("out", ".", "")
	toSFTP := fs.Bool("to-sftp", false, "")
	sftpDir := fs.String("sftp-dir", "/outgoing/compliance", "")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return usageErr("%v\n%s", err, exportUsage())
	}
	valid := false
	for _, k := range exports.KindNames() {
		valid = valid || k == kind
	}
	if !valid {
		return usageErr("unknown export %q\n%s", kind, exportUsage())
	}
	if *format != "csv" && *format != "parquet" {
		return usageErr("--format must be csv or parquet")
	}
	f, err := fund.ParseISODate(*from)
	if err != nil {
		return usageErr("--from: %v", err)
	}
	t, err := fund.ParseISODate(*to)
	if err != nil {
		return usageErr("--to: %v", err)
	}
	if f.After(t) {
		return usageErr("--from %s is after --to %s", f, t)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	cfg, pool, err := loadAndConnectPG(ctx, g)
	if err != nil {
		return err
	}
	defer pool.Close()
	e := &exports.Exporter{PG: pool}
	if os.Getenv(cfg.Serve.API.PIIKeyEnv) != "" {
		if e.PII, err = pii.FromEnv(os.Getenv, cfg.Serve.API.PIIKeyEnv); err != nil {
			return err
		}
	}
	dest := ""
	if *toSFTP {
		dest = *sftpDir
	}
	m, err := e.Run(ctx, exports.Request{Kind: kind, Format: *format, From: f, To: t, Dir: *out, Progress: stderr, ToSFTP: dest, Log: log})
	if err != nil {
		return err
	}
	return printJSON(stdout, m)
}
