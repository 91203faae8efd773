package postgres_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// maps are the generic encoding (pgxdecimal alone, as before) and ours.
func numericMaps() (generic, ours *pgtype.Map) {
	generic, ours = pgtype.NewMap(), pgtype.NewMap()
	pgxdecimal.Register(generic)
	postgres.RegisterNumeric(ours)
	return generic, ours
}

// sameBytes encodes v (a decimal.Decimal or NullDecimal) with both maps,
// alone and in an array as navArrays sends it, and fails when the bytes
// differ.
func sameBytes(t testing.TB, generic, ours *pgtype.Map, v any) {
	t.Helper()
	var arr any
	switch x := v.(type) {
	case decimal.Decimal:
		arr = []decimal.Decimal{x, decimal.NewFromInt(1)}
	case decimal.NullDecimal:
		arr = []decimal.NullDecimal{x, {}}
	}
	for _, c := range []struct {
		oid uint32
		v   any
	}{{pgtype.NumericOID, v}, {pgtype.NumericArrayOID, arr}} {
		want, werr := generic.Encode(c.oid, pgtype.BinaryFormatCode, c.v, nil)
		got, gerr := ours.Encode(c.oid, pgtype.BinaryFormatCode, c.v, nil)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(want, got) || (want == nil) != (got == nil) {
			t.Fatalf("%v (oid %d): ours %x (%v), generic %x (%v)", c.v, c.oid, got, gerr, want, werr)
		}
	}
}

// Every NAV, repurchase and sale price of every real NAVAll fixture, and
// the edges of the fast path, encode to the very bytes the generic
// encoder gives: what Postgres stores is what it stored before.
func TestNumericEncodingIsTheGenericOnes(t *testing.T) {
	generic, ours := numericMaps()
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(testkit.Fixture(t, "amfi/navall/NAVAll_2019-06-21.txt")), "*.txt"))
	values := 0
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
			if row.Reason != "" {
				continue
			}
			sameBytes(t, generic, ours, row.Record.NAV)
			sameBytes(t, generic, ours, row.Record.Repurchase)
			sameBytes(t, generic, ours, row.Record.Sale)
			values++
		}
		fh.Close()
	}
	if values < 50_000 {
		t.Fatalf("%d NAVs compared from %d fixtures, want the fixtures' rows", values, len(files))
	}
	for _, s := range []string{"0", "0.0", "0.00000000", "-0.5", "10.50", "10.5000", "1", "10000", "12345000", "1e4", "1e5",
		"123.45678901", "0.00000001", "1e-16", "1e-17", "1.23e-20", "99999999.99999999", "9999999999.99999999",
		"123456789012345678", "1234567890123456789", "-9223372036854775808", "9223372036854775807", "18446744073709551615",
		"1e30", "-1e30", "123456789012345678901234567890.123", "1e-400", "0.1234567890123456789",
		// 19 digits at an exponent that is a multiple of 4, above 2^63: the
		// coefficient does not fit an int64 (the first fast path wrapped them)
		"9999999999999999999", "-9999999999999999999", "9223372036854775808", "952.3809523809523810", "-952.3809523809523810"} {
		d := decimal.RequireFromString(s)
		sameBytes(t, generic, ours, d)
		sameBytes(t, generic, ours, decimal.NullDecimal{Decimal: d, Valid: true})
	}
	sameBytes(t, generic, ours, decimal.NullDecimal{})
	// shopspring's Div to its default 16 places: 19 digits at exponent -16
	sameBytes(t, generic, ours, decimal.NewFromInt(10000).Div(decimal.RequireFromString("10.5")))
	for e := int32(-40); e <= 40; e++ {
		for _, c := range []int64{0, 1, -1, 7, 12345, -98765, 999999999999999, 1e17, -1e18 + 1} {
			sameBytes(t, generic, ours, decimal.New(c, e))
		}
	}
}

func FuzzNumericEncoding(f *testing.F) {
	f.Add(int64(105), int8(-1))
	f.Add(int64(-123456789012345678), int8(-8))
	f.Add(int64(9223372036854775807), int8(3))
	generic, ours := numericMaps()
	f.Fuzz(func(t *testing.T, c int64, e int8) {
		sameBytes(t, generic, ours, decimal.New(c, int32(e)))
	})
}

// Decimals from their text, so coefficients beyond an int64 are reached.
func FuzzNumericEncodingText(f *testing.F) {
	for _, s := range []string{"9999999999999999999", "-952.3809523809523810", "0.0001", "123456789012345678901", "1e-16"} {
		f.Add(s)
	}
	generic, ours := numericMaps()
	f.Fuzz(func(t *testing.T, s string) {
		d, err := decimal.NewFromString(s)
		if err != nil || d.Exponent() < -1000 || d.Exponent() > 1000 || d.NumDigits() > 1000 {
			return
		}
		sameBytes(t, generic, ours, d)
	})
}

// The NAV columns of a 2,000-row batch, as navArrays hands them to pgx.
func BenchmarkNumericArrayEncode(b *testing.B) {
	generic, ours := numericMaps()
	navs := make([]decimal.Decimal, 2000)
	for i := range navs {
		navs[i] = decimal.New(int64(1234567+i*7919), -4)
	}
	for _, m := range []struct {
		name string
		m    *pgtype.Map
	}{{"generic", generic}, {"ours", ours}} {
		b.Run(m.name, func(b *testing.B) {
			var buf []byte
			for i := 0; i < b.N; i++ {
				var err error
				if buf, err = m.m.Encode(pgtype.NumericArrayOID, pgtype.BinaryFormatCode, navs, buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
