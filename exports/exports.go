// Package exports writes the compliance exports: the transaction register,
// the audit trail, holdings as of a date and a FATCA/CRS-style account
// report, as CSV or Parquet (decimal128 columns), each with a manifest of
// row counts and SHA-256s, optionally delivered to an SFTP drop. The same
// exports are served to the compliance role by the API.
package exports

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/sinks/files"
)

// Exporter runs exports against Postgres.
type Exporter struct {
	PG  *pgxpool.Pool
	PII *pii.Sealer // needed by fatca-crs (tax ids)
	Now func() time.Time
}

// Kinds names the exports.
func (e *Exporter) Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.name
	}
	return out
}

// About describes each kind (for --help).
func About() map[string]string {
	m := map[string]string{}
	for _, k := range kinds {
		m[k.name] = k.about
	}
	return m
}

// ContentType is the media type of a format.
func (e *Exporter) ContentType(format string) string { return files.ContentType(format) }

// Count returns how many rows an export of the period will have.
func (e *Exporter) Count(ctx context.Context, kindName string, from, to fund.Date) (int64, error) {
	k, ok := findKind(kindName)
	if !ok {
		return 0, unknown(kindName)
	}
	var n int64
	if err := e.PG.QueryRow(ctx, k.count, from.Time(), to.Time()).Scan(&n); err != nil {
		return 0, fmt.Errorf("export %s: count: %w", kindName, err)
	}
	return n, nil
}

func unknown(name string) error {
	return fmt.Errorf("export: unknown kind %q (one of: transactions, audit, holdings, fatca-crs)", name)
}

// Export writes one export of [from, to] (inclusive dates) to w and returns
// its row count. progress, if set, is called with the rows written so far.
// The rows come from one repeatable-read snapshot.
func (e *Exporter) Export(ctx context.Context, kindName, format string, from, to fund.Date, w io.Writer) (int64, error) {
	return e.export(ctx, kindName, format, from, to, w, nil)
}

func (e *Exporter) export(ctx context.Context, kindName, format string, from, to fund.Date, w io.Writer, progress func(int64)) (int64, error) {
	k, ok := findKind(kindName)
	if !ok {
		return 0, unknown(kindName)
	}
	fw, err := files.New(format, w, k.columns)
	if err != nil {
		return 0, err
	}
	tx, err := e.PG.BeginTx(ctx, pgxTxOptions)
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", kindName, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	rows, err := tx.Query(ctx, k.rows, from.Time(), to.Time())
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", kindName, err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		row, err := k.scan(e, rows)
		if err != nil {
			return n, fmt.Errorf("export %s row %d: %w", kindName, n+1, err)
		}
		if err := fw.Write(row); err != nil {
			return n, fmt.Errorf("export %s row %d: %w", kindName, n+1, err)
		}
		n++
		if progress != nil && n%1000 == 0 {
			progress(n)
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("export %s: %w", kindName, err)
	}
	if err := fw.Close(); err != nil {
		return n, fmt.Errorf("export %s: %w", kindName, err)
	}
	if progress != nil {
		progress(n)
	}
	return n, nil
}

// Manifest describes an export's files.
type Manifest struct {
	Kind        string         `json:"kind"`
	About       string         `json:"about"`
	From        fund.Date      `json:"from"`
	To          fund.Date      `json:"to"`
	Format      string         `json:"format"`
	GeneratedAt time.Time      `json:"generated_at"`
	Columns     []files.Column `json:"columns"`
	Files       []FileInfo     `json:"files"`
}

// FileInfo is one file of an export.
type FileInfo struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ManifestName is the manifest's file name for a data file base name.
func ManifestName(base string) string { return base + ".manifest.json" }

// WriteFiles writes the export into dir as KIND_FROM_TO.FORMAT and its
// manifest beside it (each written to a temporary name and renamed, so a
// reader never sees half a file; the manifest last). It returns the
// manifest and the paths written, data file first.
func (e *Exporter) WriteFiles(ctx context.Context, kindName, format string, from, to fund.Date, dir string, progress func(int64)) (Manifest, []string, error) {
	k, ok := findKind(kindName)
	if !ok {
		return Manifest{}, nil, unknown(kindName)
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	base := fmt.Sprintf("%s_%s_%s", kindName, from, to)
	name := base + "." + files.Ext(format)
	path := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("export: %w", err)
	}
	defer os.Remove(f.Name())
	sum := files.NewSummer(f)
	n, err := e.export(ctx, kindName, format, from, to, sum, progress)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Manifest{}, nil, err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return Manifest{}, nil, fmt.Errorf("export: %w", err)
	}
	m := Manifest{Kind: kindName, About: k.about, From: from, To: to, Format: format, GeneratedAt: now().UTC(), Columns: k.columns,
		Files: []FileInfo{{Name: name, Rows: n, Bytes: sum.Bytes, SHA256: sum.SHA256()}}}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, nil, err
	}
	mpath := filepath.Join(dir, ManifestName(base))
	tmp := mpath + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return m, nil, fmt.Errorf("export: manifest: %w", err)
	}
	if err := os.Rename(tmp, mpath); err != nil {
		return m, nil, fmt.Errorf("export: manifest: %w", err)
	}
	return m, []string{path, mpath}, nil
}

// KindNames is the sorted list of kinds, for messages.
func KindNames() []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.name)
	}
	sort.Strings(out)
	return out
}
