package rtagen_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/rtagen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/rta"
)

var asOf = fund.NewDate(2026, 8, 21)

// ledger makes a generated ledger of n folios ending on asOf.
func ledger(t *testing.T, n int) *pgxpool.Pool {
	t.Helper()
	pool, _ := testkit.PG(t)
	if _, err := ledgergen.Generate(testkit.Ctx(t), pool, ledgergen.Options{Folios: n, Seed: 11, End: asOf, Days: 400, Log: testkit.Logger(t)}); err != nil {
		t.Fatal(err)
	}
	return pool
}

// load parses every feed file of dir with the RTA parser and stages the
// good rows, as folio-recon's pipeline does; it fails on any rejected row
// (the generator writes only good ones).
func load(t *testing.T, pool *pgxpool.Pool, files []string) int {
	t.Helper()
	ctx := testkit.Ctx(t)
	sink := postgres.RTASink{Pool: pool}
	n := 0
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		next, err := rta.Decode(f, fund.Origin{File: filepath.Base(path), SHA256: fmt.Sprintf("sha-%s", filepath.Base(path))})
		if err != nil {
			t.Fatal(err)
		}
		var batch []fund.RTALine
		for {
			it, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			line, err := rta.Stage(ctx, it)
			if err != nil {
				t.Fatalf("%s line %d: %v: %q", path, it.From.Line, err, it.Row.Raw)
			}
			batch = append(batch, line)
			if len(batch) == 5000 {
				if err := sink.Write(ctx, pipelines.Batch[fund.RTALine]{Items: batch}); err != nil {
					t.Fatal(err)
				}
				n += len(batch)
				batch = nil
			}
		}
		if err := sink.Write(ctx, pipelines.Batch[fund.RTALine]{Items: batch}); err != nil {
			t.Fatal(err)
		}
		n += len(batch)
		f.Close()
	}
	return n
}

func readTruth(t *testing.T, path string) []rtagen.Truth {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []rtagen.Truth
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var tr rtagen.Truth
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatal(err)
		}
		out = append(out, tr)
	}
	return out
}

// found reads the open and explained breaks as Expected values.
func found(t *testing.T, pool *pgxpool.Pool) []rtagen.Expected {
	t.Helper()
	rows, err := pool.Query(testkit.Ctx(t), `SELECT scope, type, rta, folio,
		CASE WHEN scope = 'holding' THEN coalesce(nullif(scheme_code, ''), product_code) ELSE coalesce(nullif(order_id, ''), rta_txn_no) END, cause
		FROM recon_breaks WHERE status <> 'resolved'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rtagen.Expected
	for rows.Next() {
		var e rtagen.Expected
		if err := rows.Scan(&e.Scope, &e.Type, &e.RTA, &e.Folio, &e.Subject, &e.Cause); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func key(e rtagen.Expected) string {
	return strings.Join([]string{e.Scope, e.Type, e.RTA, e.Folio, e.Subject, e.Cause}, " ")
}

func folios(t *testing.T, def int) int {
	if s := os.Getenv("FUNDFLOW_RECON_TEST_FOLIOS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return def
}

// TestInjectedDifferencesAreAllFound: feeds generated from the ledger with
// differences of every kind injected into a share of the folios; the
// reconciliation finds every expected break with its type and cause, and
// nothing else.
func TestInjectedDifferencesAreAllFound(t *testing.T) {
	n := folios(t, 4000)
	pool := ledger(t, n)
	ctx := testkit.Ctx(t)
	dir := t.TempDir()
	// 8 % rather than 1 % so that a test-sized ledger still gets tens of
	// differences of each kind (FUNDFLOW_RECON_TEST_FOLIOS=100000 with
	// 1 % is the full-size run).
	rate := 0.08
	if s := os.Getenv("FUNDFLOW_RECON_TEST_RATE"); s != "" {
		rate, _ = strconv.ParseFloat(s, 64)
	}
	res, err := rtagen.Generate(ctx, pool, rtagen.Options{AsOf: asOf, Out: dir, Rate: rate, Seed: 3, Gzip: true, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 4 || res.Folios != n {
		t.Fatalf("result %+v", res)
	}
	truth := readTruth(t, res.Truth)
	perKind := map[rtagen.Injection]int{}
	var want []string
	for _, tr := range truth {
		perKind[tr.Injection]++
		for _, e := range tr.Expect {
			want = append(want, key(e))
		}
	}
	for _, k := range rtagen.Injections {
		if perKind[k] < max(1, int(float64(n)*rate/float64(len(rtagen.Injections))/3)) {
			t.Errorf("only %d injections of %s: %v", perKind[k], k, perKind)
		}
	}
	load(t, pool, res.Files)
	r, err := pgstore.New(pool).Reconcile(ctx, recon.Options{Date: asOf})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range found(t, pool) {
		got = append(got, key(e))
	}
	sort.Strings(want)
	sort.Strings(got)
	missing, extra := diff(want, got)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("%d expected breaks, %d found\nnot found (%d): %s\nnot expected (%d): %s", len(want), len(got),
			len(missing), strings.Join(head(missing), "\n  "), len(extra), strings.Join(head(extra), "\n  "))
	}
	t.Logf("%d folios, %d injections %v, %d breaks all found; compared %d/%d holdings, %d/%d transactions in %s",
		n, len(truth), perKind, len(got), r.RTAHoldings, r.LedgerHoldings, r.RTATransactions, r.LedgerTransactions, r.Took)
}

// TestCleanFeedsGiveNoBreaks: feeds that say what our ledger says give no
// break, and a second day with the same books resolves nothing and finds
// nothing.
func TestCleanFeedsGiveNoBreaks(t *testing.T) {
	pool := ledger(t, folios(t, 1500))
	ctx := testkit.Ctx(t)
	for i, day := range []fund.Date{asOf, asOf.AddDays(3)} {
		dir := t.TempDir()
		res, err := rtagen.Generate(ctx, pool, rtagen.Options{AsOf: day, Out: dir, Log: testkit.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(readTruth(t, res.Truth)); n != 0 {
			t.Fatalf("clean feeds with %d injections", n)
		}
		rows := load(t, pool, res.Files)
		r, err := pgstore.New(pool).Reconcile(ctx, recon.Options{Date: day})
		if err != nil {
			t.Fatal(err)
		}
		if got := found(t, pool); len(got) != 0 || r.Breaks != 0 || r.Resolved != 0 {
			t.Fatalf("day %d: %d breaks from clean feeds: %v", i+1, len(got), head(func() []string {
				var s []string
				for _, e := range got {
					s = append(s, key(e))
				}
				return s
			}()))
		}
		if int64(rows) != r.RTAHoldings+r.RTATransactions || r.RTAHoldings == 0 || r.RTATransactions != r.LedgerTransactions {
			t.Fatalf("day %d: staged %d rows, compared %+v", i+1, rows, r)
		}
	}
}

func diff(want, got []string) (missing, extra []string) {
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i] < got[j]):
			missing = append(missing, want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			extra = append(extra, got[j])
			j++
		default:
			i++
			j++
		}
	}
	return missing, extra
}

func head(s []string) []string {
	if len(s) > 20 {
		return append(s[:20:20], fmt.Sprintf("… and %d more", len(s)-20))
	}
	return s
}
