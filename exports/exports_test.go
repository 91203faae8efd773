package exports_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/exports"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/readmodel"
	"github.com/fundflow/fundflow/sinks/files"
)

// duckdbVersion is the npm package the independent Parquet reader uses.
// (The older `duckdb` package builds from source when its prebuilt binary
// cannot be downloaded; @duckdb/node-api ships its binary inside the
// registry package.)
const duckdbVersion = "@duckdb/node-api@1.5.6-r.1"

var (
	duckOnce sync.Once
	duckDir  string
	duckErr  error
)

// duckReader installs DuckDB's Node package once (into .state/node, kept
// between runs) and returns the folder holding the reader script.
func duckReader(t *testing.T) string {
	t.Helper()
	duckOnce.Do(func() {
		duckDir = filepath.Join(testkit.Root(t), ".state", "node")
		if _, err := os.Stat(filepath.Join(duckDir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
			if err := os.MkdirAll(duckDir, 0o755); err != nil {
				duckErr = err
				return
			}
			cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", duckDir, duckdbVersion)
			if out, err := cmd.CombinedOutput(); err != nil {
				duckErr = fmt.Errorf("npm install %s: %v\n%s", duckdbVersion, err, out)
				return
			}
		}
		script, err := os.ReadFile(filepath.Join("testdata", "read_parquet.mjs"))
		if err == nil {
			err = os.WriteFile(filepath.Join(duckDir, "read_parquet.mjs"), script, 0o644)
		}
		duckErr = err
	})
	if duckErr != nil {
		t.Fatalf("the independent Parquet reader (node + %s) is not available: %v", duckdbVersion, duckErr)
	}
	return duckDir
}

type duckResult struct {
	Columns   []string    `json:"columns"`
	Types     []string    `json:"types"`
	RowGroups int         `json:"row_groups"`
	Rows      [][]*string `json:"rows"`
}

func readParquet(t *testing.T, path string) duckResult {
	t.Helper()
	dir := duckReader(t)
	out, err := exec.Command("node", filepath.Join(dir, "read_parquet.mjs"), path).Output()
	if err != nil {
		var ee *exec.ExitError
		if ok := errorAs(err, &ee); ok {
			t.Fatalf("duckdb reader: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var r duckResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("duckdb reader output: %v\n%s", err, out)
	}
	return r
}

func errorAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func setup(t *testing.T) (*exports.Exporter, *pgxpool.Pool, *pii.Sealer) {
	t.Helper()
	pool, _ := testkit.PG(t)
	sealer, err := pii.New(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledgerfix.Load(testkit.Ctx(t), pool, ledgerfix.Sample(sealer)); err != nil {
		t.Fatal(err)
	}
	return &exports.Exporter{PG: pool, PII: sealer}, pool, sealer
}

func fileSHA(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Every kind: the Parquet file, read back by DuckDB, equals the CSV file,
// and each manifest's counts and hashes are the files'.
func TestParquetEqualsCSVForEveryKind(t *testing.T) {
	t.Parallel()
	e, _, _ := setup(t)
	from, to := fund.NewDate(2024, 1, 1), fund.NewDate(2024, 12, 31)
	auditTo := fund.DateOf(timeNow()) // audit rows are stamped with today's time
	for _, k := range e.Kinds() {
		t.Run(k, func(t *testing.T) {
			kf, kt := from, to
			if k == "audit" {
				kf, kt = auditTo.AddDays(-1), auditTo.AddDays(1)
			}
			dir := t.TempDir()
			mc, pc := exportBoth(t, e, k, kf, kt, dir)
			csvRows := readCSV(t, pc[0])
			pq := readParquet(t, pc[1])
			if strings.Join(pq.Columns, ",") != strings.Join(csvRows[0], ",") {
				t.Fatalf("columns: parquet %v, csv %v", pq.Columns, csvRows[0])
			}
			if len(pq.Rows) != len(csvRows)-1 || int64(len(pq.Rows)) != mc.Files[0].Rows {
				t.Fatalf("rows: parquet %d, csv %d, manifest %d", len(pq.Rows), len(csvRows)-1, mc.Files[0].Rows)
			}
			if len(pq.Rows) == 0 {
				t.Fatalf("%s exported no rows: the comparison proves nothing", k)
			}
			for i, r := range pq.Rows {
				for j, v := range r {
					got := ""
					if v != nil {
						got = *v
					}
					if got != csvRows[i+1][j] {
						t.Errorf("row %d column %s: parquet %q, csv %q", i+1, pq.Columns[j], got, csvRows[i+1][j])
					}
				}
			}
			for j, ty := range pq.Types {
				if strings.Contains(csvRows[0][j], "amount") && !strings.HasPrefix(ty, "DECIMAL(18,2)") {
					t.Errorf("column %s is %s in Parquet, want DECIMAL(18,2)", csvRows[0][j], ty)
				}
			}
		})
	}
}

// exportBoth writes kind as CSV and Parquet and checks their manifests.
func exportBoth(t *testing.T, e *exports.Exporter, k string, from, to fund.Date, dir string) (exports.Manifest, []string) {
	t.Helper()
	var m exports.Manifest
	var data []string
	for _, format := range []string{"csv", "parquet"} {
		sub := filepath.Join(dir, format)
		os.MkdirAll(sub, 0o755)
		man, paths, err := e.WriteFiles(testkit.Ctx(t), k, format, from, to, sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		var onDisk exports.Manifest
		b, err := os.ReadFile(paths[1])
		if err != nil || json.Unmarshal(b, &onDisk) != nil {
			t.Fatalf("manifest %s: %v", paths[1], err)
		}
		st, _ := os.Stat(paths[0])
		if len(onDisk.Files) != 1 || onDisk.Files[0].SHA256 != fileSHA(t, paths[0]) || onDisk.Files[0].Bytes != st.Size() ||
			onDisk.Files[0].Name != filepath.Base(paths[0]) || onDisk.Kind != k {
			t.Fatalf("manifest %+v does not describe %s", onDisk, paths[0])
		}
		m = man
		data = append(data, paths[0])
	}
	return m, data
}

// The holdings export (SQL) equals the portfolio replay (Go) for every
// folio: two implementations of one rule.
func TestHoldingsExportEqualsPortfolio(t *testing.T) {
	t.Parallel()
	e, pool, _ := setup(t)
	ctx := testkit.Ctx(t)
	store := &readmodel.Store{PG: pool}
	for _, asOf := range []fund.Date{fund.NewDate(2024, 1, 31), fund.NewDate(2024, 3, 31), fund.NewDate(2024, 6, 10), fund.NewDate(2024, 12, 31)} {
		var buf bytes.Buffer
		if _, err := e.Export(ctx, "holdings", "csv", asOf, asOf, &buf); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, r := range recs[1:] {
			got[r[1]+"|"+r[3]] = r
		}
		n := 0
		for _, folio := range []string{"F-1", "F-2", "G-1"} {
			p, err := store.Portfolio(ctx, folio, &asOf)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range p.Holdings {
				n++
				r, ok := got[folio+"|"+h.Scheme]
				if !ok {
					t.Errorf("%s: %s %s missing from the export", asOf, folio, h.Scheme)
					continue
				}
				units, _ := fund.ParseUnits(strings.TrimRight(strings.TrimRight(r[5], "0"), "."), 9)
				if units.String() != h.Units && strings.TrimRight(r[5], "0") != strings.TrimRight(h.Units, "0") {
					t.Errorf("%s %s units: export %s, portfolio %s", folio, h.Scheme, r[5], h.Units)
				}
				if r[6] != h.Invested.StringFixed(2) || r[9] != h.Value.StringFixed(2) || r[8] != h.NAVDate.String() {
					t.Errorf("%s %s %s: export %v, portfolio invested %s value %s nav date %s", asOf, folio, h.Scheme, r, h.Invested, h.Value, h.NAVDate)
				}
			}
		}
		if n != len(recs)-1 {
			t.Errorf("%s: export has %d rows, portfolios %d holdings", asOf, len(recs)-1, n)
		}
	}
}

func TestFATCAReport(t *testing.T) {
	t.Parallel()
	e, pool, _ := setup(t)
	// F-1's and F-2's holder has a FATCA/CRS self-declaration on file (an
	// onboarded investor's profile); G-1's holder none.
	if _, err := pool.Exec(testkit.Ctx(t), `INSERT INTO investor_profiles (investor_id, change_seq, tax_status, nomination, nominee_count,
		fatca_declared, foreign_tax_residency, effective_from, updated_at)
		SELECT investor_id, 1, 'resident_individual', 'opted_out', 0, true, false, now(), now() FROM folios WHERE folio_no = 'F-1'`); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := e.Export(testkit.Ctx(t), "fatca-crs", "csv", fund.NewDate(2024, 1, 1), fund.NewDate(2024, 12, 31), &buf); err != nil {
		t.Fatal(err)
	}
	recs, _ := csv.NewReader(&buf).ReadAll()
	want := map[string]string{
		// account, tax id, residence, reportable, balance, gross proceeds (worked out in ledgerfix.Sample), declaration
		"F-1": "ABCDE1234F|IN|false|15698.84|5500.00|declared",
		"F-2": "ABCDE1234F|IN|false|0.00|0.00|declared",
		"G-1": "PQRSX9876Z|US|true|999.90|0.00|missing",
	}
	if len(recs) != 4 {
		t.Fatalf("%d rows", len(recs)-1)
	}
	if h := recs[0][len(recs[0])-1]; h != "fatca_declaration" {
		t.Errorf("last column %q, want fatca_declaration", h)
	}
	for _, r := range recs[1:] {
		if got := strings.Join([]string{r[6], r[8], r[9], r[11], r[12], r[13]}, "|"); got != want[r[2]] {
			t.Errorf("%s: %s, want %s", r[2], got, want[r[2]])
		}
	}
	// Without the key, tax ids cannot be read: the export fails, it does not leave them out.
	e.PII = nil
	if _, err := e.Export(testkit.Ctx(t), "fatca-crs", "csv", fund.NewDate(2024, 1, 1), fund.NewDate(2024, 12, 31), &bytes.Buffer{}); err == nil {
		t.Fatal("fatca-crs without the PII key succeeded")
	}
}

func TestUnknownKindAndFormat(t *testing.T) {
	t.Parallel()
	e, _, _ := setup(t)
	d := fund.NewDate(2024, 1, 1)
	if _, err := e.Export(testkit.Ctx(t), "nope", "csv", d, d, &bytes.Buffer{}); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := e.Export(testkit.Ctx(t), "audit", "xlsx", d, d, &bytes.Buffer{}); err == nil {
		t.Error("unknown format accepted")
	}
}

// Parquet row groups are 128 Ki rows (WriteBuffered fills them from 8 Ki
// row records), and decimals keep every digit.
func TestParquetRowGroupsAndDecimals(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := files.New("parquet", f, []files.Column{files.Col("i", files.Int64), files.Dec("amount", 18, 2), files.Dec("units", 24, 9)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200000
	for i := int64(0); i < n; i++ {
		if err := w.Write([]any{i, decimal.New(i*7+1, -2), decimal.New(i, -9).Add(decimal.New(999999999999999, 0))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := readParquet(t, path)
	if len(r.Rows) != n || r.RowGroups != 2 {
		t.Fatalf("%d rows in %d row groups, want %d in 2", len(r.Rows), r.RowGroups, n)
	}
	for _, i := range []int{0, 1, 131071, 131072, n - 1} {
		wantAmt := decimal.New(int64(i)*7+1, -2).StringFixed(2)
		wantUnits := decimal.New(int64(i), -9).Add(decimal.New(999999999999999, 0)).StringFixed(9)
		if *r.Rows[i][1] != wantAmt || *r.Rows[i][2] != wantUnits {
			t.Errorf("row %d: %s %s, want %s %s", i, *r.Rows[i][1], *r.Rows[i][2], wantAmt, wantUnits)
		}
	}
	// A value with more decimals than its column is refused, not rounded.
	w2, _ := files.New("csv", &bytes.Buffer{}, []files.Column{files.Dec("amount", 18, 2)})
	if err := w2.Write([]any{decimal.RequireFromString("1.005")}); err == nil {
		t.Error("1.005 written to a decimal(18,2) column")
	}
	if err := w2.Write([]any{"1.00"}); err == nil {
		t.Error("a string written to a decimal column")
	}
}
