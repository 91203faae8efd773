package clickhouse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// navUnits is a NAV in units of 10^-8 exactly, or an error: never a
// rounded or truncated value. Expected units are written out by hand.
func TestNAVUnits(t *testing.T) {
	cases := []struct {
		in    decimal.Decimal
		units int64
		err   error
	}{
		{decimal.RequireFromString("1"), 100_000_000, nil},
		{decimal.RequireFromString("123.4567"), 12_345_670_000, nil},
		{decimal.RequireFromString("0.00000001"), 1, nil},
		{decimal.RequireFromString("-0.00000001"), -1, nil},
		{decimal.RequireFromString("0"), 0, nil},
		{decimal.Decimal{}, 0, nil},
		{decimal.New(0, -30), 0, nil},
		{decimal.New(0, 30), 0, nil},
		{decimal.RequireFromString("9999999999.99999999"), 999_999_999_999_999_999, nil},
		{decimal.RequireFromString("-9999999999.99999999"), -999_999_999_999_999_999, nil},
		{decimal.New(1, 9), 100_000_000_000_000_000, nil},
		{decimal.New(15, 2), 150_000_000_000, nil},
		{decimal.RequireFromString("1.000000010"), 100_000_001, nil},               // 9 places, the 9th a zero
		{decimal.RequireFromString("1.00000000000000000000000"), 100_000_000, nil}, // 23 places, a 24-digit coefficient
		{decimal.RequireFromString("1234567890.1234567800"), 123_456_789_012_345_678, nil},
		{decimal.RequireFromString("1.000000019"), 0, errNAVDecs},
		{decimal.RequireFromString("0.000000005"), 0, errNAVDecs},
		{decimal.New(1, -30), 0, errNAVDecs},
		{decimal.RequireFromString("1234567890.12345678901"), 0, errNAVDecs},
		{decimal.RequireFromString("10000000000"), 0, errNAVBig},
		{decimal.RequireFromString("-10000000000"), 0, errNAVBig},
		{decimal.RequireFromString("10000000000.00000000"), 0, errNAVBig},
		{decimal.New(1, 10), 0, errNAVBig},
		{decimal.RequireFromString("92233720368.54775807"), 0, errNAVBig}, // fits an int64 of units, not 18 digits
		{decimal.RequireFromString("1e30"), 0, errNAVBig},
		{decimal.RequireFromString("123456789012345678901234567890"), 0, errNAVBig},
		// exponents near int32's ends: refused, without a panic or a 10^(2^31) built
		{decimal.New(0, math.MaxInt32), 0, nil},
		{decimal.New(1, math.MaxInt32-3), 0, errNAVBig},
		{decimal.New(5, math.MaxInt32), 0, errNAVBig},
		{decimal.New(-5, math.MaxInt32), 0, errNAVBig},
		{decimal.New(1, math.MinInt32), 0, errNAVDecs},
		{decimal.New(7, -2147483600), 0, errNAVDecs},
		{decimal.New(100, -10), 1, nil}, // 10^-8 written with 10 places
	}
	for _, tc := range cases {
		got, err := navUnits(tc.in)
		if !errors.Is(err, tc.err) || got != tc.units {
			t.Errorf("navUnits(%s) = %d, %v; want %d, %v", tc.in, got, err, tc.units, tc.err)
		}
		if err == nil && !decimal.New(got, -navScale).Equal(tc.in) {
			t.Errorf("navUnits(%s) = %d: not the same value", tc.in, got)
		}
	}
}

// civilDays is the day fund.Date.Time() is, for every date of the range
// around Date's and for dates that are not normalised.
func TestCivilDays(t *testing.T) {
	want := func(d fund.Date) int { return int(d.Time().Unix() / 86400) }
	for d := fund.NewDate(1899, 12, 1); d.Year < 2200; d = d.AddDays(1) {
		if got := civilDays(d); got != want(d) {
			t.Fatalf("civilDays(%s) = %d, want %d", d, got, want(d))
		}
	}
	for _, d := range []fund.Date{{Year: 2026, Month: 2, Day: 30}, {Year: 2026, Month: 3, Day: 0}, {Year: 2026, Month: 12, Day: 40},
		{Year: 2026, Month: 0, Day: 1}, {Year: 2026, Month: 13, Day: 1}, {Year: -5, Month: 6, Day: 1}, {}} {
		if got := civilDays(d); got != want(d) {
			t.Errorf("civilDays(%+v) = %d, want %d", d, got, want(d))
		}
	}
	if minDay != 0 || maxDay != int(fund.NewDate(2105, 12, 31).Time().Sub(time.Unix(0, 0)).Hours()/24) || maxDay > 65535 {
		t.Fatalf("Date's range in days: %d..%d", minDay, maxDay)
	}
	for _, day := range []uint16{0, 1, 20_000, uint16(maxDay)} {
		if d := dateOfDay(day); civilDays(d) != int(day) {
			t.Errorf("dateOfDay(%d) = %s, its day %d", day, d, civilDays(d))
		}
	}
}

// strTable keeps each string once, as a copy (not a slice of the line it
// came in); reset leaves a copy of strs taken before as it was.
func TestStrTable(t *testing.T) {
	var st strTable
	line := "119551;Aditya Birla Sun Life Mutual Fund"
	a, b, a2 := st.id(line[:6]), st.id(line[7:]), st.id("119551")
	if a != 0 || b != 1 || a2 != a || len(st.strs) != 2 {
		t.Fatalf("ids %d %d %d, %d strings; want 0 1 0, 2", a, b, a2, len(st.strs))
	}
	if unsafe.StringData(st.strs[0]) == unsafe.StringData(line) {
		t.Fatal("the table keeps a slice of the line, not a copy")
	}
	// codeID gives id's ids whatever the order, guessed right or not.
	for _, seq := range [][]string{{"A", "B", "C"}, {"A", "B", "C"}, {"A", "C", "B", "119551"}, {"C", "A", "B"}} {
		prev, ok := uint32(0), false
		for _, s := range seq {
			got := st.codeID(prev, ok, s)
			if want := st.id(s); got != want || st.strs[got] != s {
				t.Fatalf("codeID(%q) = %d (%q), id %d", s, got, st.strs[got], want)
			}
			prev, ok = got, true
		}
	}
	old := st.strs
	st.reset()
	if c := st.id("X"); c != 0 || old[0] != "119551" || old[1] != line[7:] {
		t.Fatalf("after reset: id %d, old copy %q", c, old)
	}
}

// navWire reads as ch-go's own encoders write the same columns, whatever
// the sizes of the reads (a cell split across reads).
func TestNAVWireEncodesAsTheDriver(t *testing.T) {
	var st strTable
	var rows []navRow
	long := strings.Repeat("x", 300) // a two-byte length
	for i := range 3000 {
		rows = append(rows, navRow{nav: int64(i*7919) - 10_000_000, code: st.id(fmt.Sprint(100000 + i)), amc: st.id([]string{"", "AMC é", long}[i%3]),
			category: st.id(fmt.Sprint("cat", i%17)), sha: st.id(fmt.Sprintf("%064x", i/1000)), line: uint32(i) * 1_431_655, day: uint16(i * 16)})
	}
	var want proto.Buffer
	var code, amc, cat, sha proto.ColStr
	var day proto.ColDate
	var nav proto.ColDecimal64
	var line proto.ColUInt32
	var loaded proto.ColDateTime
	for _, r := range rows {
		code.Append(st.strs[r.code])
		amc.Append(st.strs[r.amc])
		cat.Append(st.strs[r.category])
		sha.Append(st.strs[r.sha])
		day.Append(dateOfDay(r.day).Time())
		nav.Append(proto.Decimal64(r.nav))
		line.Append(r.line)
		loaded.Append(time.Unix(1_796_549_415, 0))
	}
	for _, c := range []proto.ColInput{code, day, nav, amc, cat, sha, line, &loaded} {
		c.EncodeColumn(&want)
	}
	for _, size := range []int{1, 3, 7, 64, 4096, 1 << 20} {
		w := &navWire{rows: rows, strs: st.strs, loaded: 1_796_549_415}
		var got []byte
		p := make([]byte, size, size+100) // room past len(p) that Read must not use
		for {
			n, err := w.Read(p)
			if n > len(p) {
				t.Fatalf("reads of %d: Read returned %d", size, n)
			}
			got = append(got, p[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil || n == 0 {
				t.Fatalf("reads of %d: %d, %v", size, n, err)
			}
		}
		if !bytes.Equal(got, want.Buf) {
			t.Errorf("reads of %d: %d bytes, not the %d the driver encodes", size, len(got), len(want.Buf))
		}
	}
}
