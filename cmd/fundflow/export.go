package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/fundflow/fundflow/exports"
	"github.com/fundflow/fundflow/internal/pii"
)

type exportCmd struct {
	Kind    string   `arg:"" enum:"${exports}" help:"What to export: ${exports}."`
	From    dateFlag `required:"" help:"The period's first day (inclusive)." placeholder:"YYYY-MM-DD"`
	To      dateFlag `required:"" help:"The period's last day (inclusive)." placeholder:"YYYY-MM-DD"`
	Format  string   `default:"csv" enum:"csv,parquet" help:"csv or parquet."`
	Out     string   `default:"." help:"The folder to write into." placeholder:"DIR"`
	ToSFTP  bool     `name:"to-sftp" help:"Also upload both files to the SFTP server in $$FUNDFLOW_SFTP_* (manifest last)."`
	SFTPDir string   `name:"sftp-dir" default:"/outgoing/compliance" help:"The folder on the SFTP server." placeholder:"DIR"`
}

func (exportCmd) Help() string {
	about := exports.About()
	var b strings.Builder
	b.WriteString("Writes KIND_FROM_TO.FORMAT and KIND_FROM_TO.manifest.json (rows, bytes, SHA-256, columns) into --out. A progress bar goes to stderr; the manifest is printed on stdout.\n\nKinds:\n")
	for _, k := range exports.KindNames() {
		fmt.Fprintf(&b, "  %-13s %s\n", k, about[k])
	}
	return strings.TrimRight(b.String(), "\n")
}

func (c exportCmd) Run(a *app) error {
	if c.From.After(c.To.Date) {
		return usageErr("--from %s is after --to %s", c.From, c.To)
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return err
	}
	cfg, pool, err := a.connectPG()
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
	if c.ToSFTP {
		dest = c.SFTPDir
	}
	m, err := e.Run(a.ctx, exports.Request{Kind: c.Kind, Format: c.Format, From: c.From.Date, To: c.To.Date, Dir: c.Out, Progress: a.stderr, ToSFTP: dest, Log: a.log})
	if err != nil {
		return err
	}
	return printJSON(a.stdout, m)
}
