package postgres_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// fixtureNAVs are the valid rows of every NAVAll fixture as NAVLines, and
// a few at the edges: no repurchase or sale price, a price beyond the
// fast numeric encoder, lines past 65,535, dates before 2000.
func fixtureNAVs(t testing.TB) []*fund.NAVLine {
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(testkit.Fixture(t, "amfi/navall/NAVAll_2019-06-21.txt")), "*.txt"))
	var out []*fund.NAVLine
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := amfi.NewParser(fh)
		if err != nil {
			t.Fatal(err)
		}
		for {
			row, err := p.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if row.Reason == "" {
				out = append(out, &fund.NAVLine{NAVRecord: row.Record, From: fund.Origin{File: filepath.Base(f), SHA256: "ab12", Line: row.Line}})
			}
		}
		fh.Close()
	}
	d := decimal.RequireFromString
	out = append(out,
		&fund.NAVLine{NAVRecord: fund.NAVRecord{SchemeCode: "E1", NAV: d("9999999999.99999999"), Date: fund.NewDate(1990, 1, 1)}, From: fund.Origin{File: "é.txt", Line: 70000}},
		&fund.NAVLine{NAVRecord: fund.NAVRecord{SchemeCode: "E2", NAV: d("0.00000001"), Repurchase: decimal.NewNullDecimal(d("12345678901234567890")),
			Sale: decimal.NewNullDecimal(d("1.0000")), Date: fund.NewDate(2026, 12, 31)}, From: fund.Origin{File: "f", SHA256: "", Line: 2147483647}},
	)
	return out
}

// pgxCopy is the COPY stream pgx's CopyFrom builds for rows: each value as
// the sink used to hand it, encoded by pgx for the column's type.
func pgxCopy(t testing.TB, m *pgtype.Map, rows []*fund.NAVLine, ids map[[2]string]int32) []byte {
	buf := []byte("PGCOPY\n\377\r\n\000\x00\x00\x00\x00\x00\x00\x00\x00")
	oids := []uint32{pgtype.TextOID, pgtype.DateOID, pgtype.NumericOID, pgtype.NumericOID, pgtype.NumericOID, pgtype.Int4OID, pgtype.Int4OID}
	for _, n := range rows {
		vals := []any{n.SchemeCode, n.Date.Time(), n.NAV, n.Repurchase, n.Sale, ids[[2]string{n.From.File, n.From.SHA256}], n.From.Line}
		buf = append(buf, 0, byte(len(vals)))
		for i, v := range vals {
			// as pgx's encodeCopyValue: NULL unless the encoder appends
			sp := len(buf)
			buf = append(buf, 0xff, 0xff, 0xff, 0xff)
			enc, err := m.Encode(oids[i], pgtype.BinaryFormatCode, v, buf)
			if err != nil {
				t.Fatal(err)
			}
			if enc != nil {
				buf = enc
				l := len(buf) - sp - 4
				buf[sp], buf[sp+1], buf[sp+2], buf[sp+3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
			}
		}
	}
	return append(buf, 0xff, 0xff)
}

// The sink's own COPY encoding gives the bytes pgx gives for the same
// values, for every fixture row and the edges.
func TestNAVCopyIsPgxsCopy(t *testing.T) {
	generic, ours := numericMaps()
	rows := fixtureNAVs(t)
	// each file an id of its own, numbered here in the order files come
	ids := map[[2]string]int32{}
	for _, n := range rows {
		if k := [2]string{n.From.File, n.From.SHA256}; ids[k] == 0 {
			ids[k] = int32(1000 + len(ids))
		}
	}
	if len(ids) < 2 {
		t.Fatalf("the fixtures are %d file(s): the test needs rows of several", len(ids))
	}
	want := pgxCopy(t, generic, rows, ids)
	for _, m := range []*pgtype.Map{generic, ours} {
		got, err := postgres.AppendNAVCopy(nil, m, rows, ids)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("%d rows: the streams differ at byte %d of %d/%d: got %x, pgx %x", len(rows), i, len(got), len(want),
				got[i:min(i+32, len(got))], want[i:min(i+32, len(want))])
		}
	}
	if _, err := postgres.AppendNAVCopy(nil, ours, []*fund.NAVLine{{From: fund.Origin{Line: 1 << 31}}}, map[[2]string]int32{{}: 1}); err == nil {
		t.Error("a line beyond int4 was encoded")
	}
	if _, err := postgres.AppendNAVCopy(nil, ours, rows[:1], map[[2]string]int32{{"other.txt", rows[0].From.SHA256}: 1}); err == nil {
		t.Error("a row of a file without an id was encoded")
	}
	t.Logf("%d rows, %d bytes", len(rows), len(want))
}

// Through a real Postgres: the sink's rows read back as the input says.
func TestNAVSinkCopiesWhatTheFilesSay(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	rows := fixtureNAVs(t)
	rows = rows[:len(rows)-2]                                                                                                             // the edges do not all fit the columns
	rows = append(rows, &fund.NAVLine{NAVRecord: fund.NAVRecord{SchemeCode: "E3", NAV: decimal.RequireFromString("1.000000000000000000"), // past the fast encoder
		Date: fund.NewDate(1999, 12, 31)}, From: fund.Origin{File: "é.txt", SHA256: "cd34", Line: 70000}})
	// one row a (scheme, date): the fixtures repeat schemes on other dates
	seen := map[string]bool{}
	var items []fund.NAVLine
	for _, n := range rows {
		k := n.SchemeCode + n.Date.String()
		if !seen[k] {
			seen[k] = true
			items = append(items, *n)
		}
	}
	sink := &postgres.NAVSink{Pool: pool}
	for i := 0; i < len(items); i += 2000 {
		if err := sink.Write(ctx, batchOf("", "", items[i:min(i+2000, len(items))]...)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]string{}
	r, err := pool.Query(ctx, `SELECT scheme_code, nav_date, nav::text, coalesce(repurchase::text, '-'), coalesce(sale::text, '-'), source_file, source_sha256, source_line FROM nav_lineage`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var code, nav, rep, sale, file, sha string
		var d time.Time
		var line int
		if err := r.Scan(&code, &d, &nav, &rep, &sale, &file, &sha, &line); err != nil {
			t.Fatal(err)
		}
		got[code+"|"+d.Format("2006-01-02")] = nav + " " + rep + " " + sale + " " + file + " " + sha + " " + strconv.Itoa(line)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("navs holds %d rows, the input has %d keys", len(got), len(items))
	}
	text := func(d decimal.NullDecimal) string {
		if !d.Valid {
			return "-"
		}
		return d.Decimal.StringFixed(8) // numeric(18,8) shows 8 places
	}
	for _, n := range items {
		want := n.NAV.StringFixed(8) + " " + text(n.Repurchase) + " " + text(n.Sale) + " " + n.From.File + " " + n.From.SHA256 + " " + strconv.Itoa(n.From.Line)
		if g := got[n.SchemeCode+"|"+n.Date.String()]; g != want {
			t.Fatalf("%s on %s: navs holds %q, the input says %q", n.SchemeCode, n.Date, g, want)
		}
	}
}

// A batch of rows from several files (a batch may cross a file boundary,
// a quarantine replay mixes files): each NAV names its own file, SHA-256
// and line, copied or through ON CONFLICT, and so does each scheme's
// nav_latest row, whether the scheme is new to nav_latest or moves forward.
func TestNAVLatestKeepsEachRowsFileInAMixedBatch(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	sink := &postgres.NAVSink{Pool: pool}
	from := func(n fund.NAVLine, file, sha string) fund.NAVLine {
		n.From.File, n.From.SHA256 = file, sha
		return n
	}
	if err := sink.Write(ctx, batchOf("", "", navLine("100", "A", "10", 17, 2), navLine("101", "B", "20", 17, 3))); err != nil {
		t.Fatal(err)
	}
	// 100 and 101 move forward, 102 and 103 are new; two files each; and
	// 101's day before its latest, from a third file (through ON CONFLICT)
	if err := sink.Write(ctx, batchOf("", "",
		from(navLine("100", "A", "10.1", 18, 4), "one.txt", "s1"), from(navLine("101", "B", "20.1", 18, 5), "two.txt", "s2"),
		from(navLine("101", "B", "19.9", 16, 8), "three.txt", "s3"),
		from(navLine("102", "C", "30", 18, 6), "two.txt", "s2"), from(navLine("103", "D", "40", 18, 7), "one.txt", "s1"))); err != nil {
		t.Fatal(err)
	}
	var lineage string
	if err := pool.QueryRow(ctx, `SELECT string_agg(concat_ws(' ', scheme_code, nav_date, nav, source_file, source_sha256, source_line), ', '
		ORDER BY scheme_code, nav_date) FROM nav_lineage`).Scan(&lineage); err != nil {
		t.Fatal(err)
	}
	if want := "100 2026-08-17 10.00000000 NAVAll.txt abc 2, 100 2026-08-18 10.10000000 one.txt s1 4, " +
		"101 2026-08-16 19.90000000 three.txt s3 8, 101 2026-08-17 20.00000000 NAVAll.txt abc 3, 101 2026-08-18 20.10000000 two.txt s2 5, " +
		"102 2026-08-18 30.00000000 two.txt s2 6, 103 2026-08-18 40.00000000 one.txt s1 7"; lineage != want {
		t.Fatalf("navs:\n%s\nwant:\n%s", lineage, want)
	}
	want := map[string]string{"100": "2026-08-18 10.10000000 one.txt s1 4", "101": "2026-08-18 20.10000000 two.txt s2 5",
		"102": "2026-08-18 30.00000000 two.txt s2 6", "103": "2026-08-18 40.00000000 one.txt s1 7"}
	rows, err := pool.Query(ctx, `SELECT scheme_code, nav_date::text || ' ' || nav::text || ' ' || source_file || ' ' || source_sha256 || ' ' || source_line FROM nav_latest`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var code, v string
		if err := rows.Scan(&code, &v); err != nil {
			t.Fatal(err)
		}
		got[code] = v
	}
	if len(got) != len(want) {
		t.Fatalf("nav_latest %v, want %v", got, want)
	}
	for code, w := range want {
		if got[code] != w {
			t.Errorf("nav_latest %s: %q, want %q", code, got[code], w)
		}
	}
}

// Holds answers by each scheme's own latest NAV, whether that is the
// newest date of all (just written, or read back by a new sink) or older.
func TestNAVSinkHoldsEachSchemesLatest(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	s := &postgres.NAVSink{Pool: pool}
	for _, b := range [][]fund.NAVLine{
		{navLine("100", "Alpha", "10", 17, 2), navLine("200", "Beta", "20", 17, 3)},
		{navLine("100", "Alpha", "11", 18, 2)},
	} {
		if err := s.Write(ctx, batchOf("", "", b...)); err != nil {
			t.Fatal(err)
		}
	}
	fresh := &postgres.NAVSink{Pool: pool}
	if err := fresh.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for name, sink := range map[string]*postgres.NAVSink{"the writer": s, "a new sink": fresh} {
		for _, c := range []struct {
			n    fund.NAVLine
			want bool
		}{
			{navLine("100", "Alpha", "11", 18, 2), true}, {navLine("200", "Beta", "20", 17, 3), true},
			{navLine("100", "Alpha", "10", 17, 2), false}, {navLine("200", "Beta", "20", 18, 3), false},
			{navLine("100", "Alpha", "11", 19, 2), false}, {navLine("300", "Gamma", "11", 18, 2), false},
		} {
			if got := sink.Holds(c.n.NAVRecord); got != c.want {
				t.Errorf("%s: holds %s on %s: %v, want %v", name, c.n.SchemeCode, c.n.Date, got, c.want)
			}
		}
	}
}

// A row without a file (its file and SHA-256 both empty) first in a batch
// is stored under a file of its own, as any other: the sink's lookup of
// files does not take it for the one before it.
func TestNAVSinkStoresARowWithoutAFile(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	bare := navLine("100", "A", "10", 17, 2)
	bare.From = fund.Origin{Line: 2}
	if err := (&postgres.NAVSink{Pool: pool}).Write(ctx, batchOf("", "", bare, navLine("101", "B", "20", 17, 3))); err != nil {
		t.Fatal(err)
	}
	var lineage string
	if err := pool.QueryRow(ctx, `SELECT string_agg(concat_ws('|', scheme_code, source_file, source_sha256, source_line), ' ' ORDER BY scheme_code)
		FROM nav_lineage`).Scan(&lineage); err != nil {
		t.Fatal(err)
	}
	if want := "100|||2 101|NAVAll.txt|abc|3"; lineage != want {
		t.Fatalf("navs: %q, want %q", lineage, want)
	}
}
