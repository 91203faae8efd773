package rta

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// One fuzz target per layout, each seeded with files of its own layout (in
// both delimiters, compressed and not) so the fuzzer spends its time inside
// that layout's row rules. The invariants are the same for all: see
// fuzzFeed.

func FuzzWBR22(f *testing.F)   { fuzzLayout(f, CAMSWBR22) }
func FuzzMFSD203(f *testing.F) { fuzzLayout(f, KFinMFSD203) }
func FuzzWBR2(f *testing.F)    { fuzzLayout(f, CAMSWBR2) }
func FuzzMFSD201(f *testing.F) { fuzzLayout(f, KFinMFSD201) }

func fuzzLayout(f *testing.F, l *Layout) {
	r := rand.New(rand.NewPCG(7, uint64(len(l.Name))))
	for _, delim := range []byte{',', '|'} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, l, delim, delim == ',')
		if err != nil {
			f.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			if l.Kind == Holdings {
				err = w.Holding(randomHolding(r, l))
			} else {
				err = w.Txn(randomTxn(r, l))
			}
			if err != nil {
				f.Fatal(err)
			}
		}
		w.Flush()
		f.Add(buf.Bytes())
		if delim == '|' {
			f.Add(gz(nil, buf.Bytes()))
		}
	}
	// The minimal header with hand-made oddities.
	min := l.Identify[0]
	for _, c := range l.Identify[1:] {
		min += "," + c
	}
	for _, fl := range l.required {
		if c := l.cols[fl][0]; !bytes.Contains([]byte(min), []byte(c)) {
			min += "," + c
		}
	}
	f.Add([]byte("\ufeff" + min + "\r\r\n\"1\",\" x \",,,,,,\n\n,,,,,,,,"))
	f.Add([]byte(min + "\n" + `"a""b",2,3,4,5,6,7,8` + "\n"))
	f.Add([]byte(""))
	f.Add([]byte("<html>"))

	f.Fuzz(func(t *testing.T, data []byte) { fuzzFeed(t, data) })
}

// fuzzFeed checks, for any input: nothing panics; the input is refused as a
// whole with ErrNotRTAFile, or (when compressed) fails with a read error, or
// parses to EOF; every row has a strictly increasing line number and Raw
// equal to that line of the text; a good row has the fields its kind needs
// and consistent signs, a rejected one a known reason, a detail and no
// record; every good row written back by Writer parses to the same record;
// Decode yields the same rows.
func fuzzFeed(t *testing.T, data []byte) {
	text, closeText, err := Decompress(bytes.NewReader(data))
	if err != nil {
		if !errors.Is(err, ErrNotRTAFile) {
			t.Fatalf("Decompress: %v, want ErrNotRTAFile", err)
		}
		return
	}
	defer closeText()
	plain, readErr := io.ReadAll(text)
	compressed := !bytes.Equal(plain, data)
	if readErr != nil && !compressed {
		t.Fatalf("reading plain input: %v", readErr)
	}
	p, err := NewParser(bytes.NewReader(plain))
	if err != nil {
		if !errors.Is(err, ErrNotRTAFile) && !errors.Is(err, errLineTooLong) {
			t.Fatalf("NewParser: %v", err)
		}
		if err.Error() == "" {
			t.Fatal("empty error")
		}
		return
	}
	lines := bytes.Split(plain, []byte("\n"))
	var good []Row
	prev := 0
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				return
			}
			t.Fatalf("Next: %v", err)
		}
		if row.Line <= prev || row.Line > len(lines) {
			t.Fatalf("line %d after %d of %d", row.Line, prev, len(lines))
		}
		prev = row.Line
		if want := bytes.TrimRight(lines[row.Line-1], "\r"); !bytes.Equal(row.Raw, want) {
			t.Fatalf("line %d: Raw %q, want %q", row.Line, row.Raw, want)
		}
		switch row.Reason {
		case "":
			checkGood(t, p.Layout(), row)
			good = append(good, row)
		case ReasonBadFieldCount, ReasonBadQuoting, ReasonMissingField, ReasonBadDate, ReasonBadUnits, ReasonBadAmount,
			ReasonBadNAV, ReasonUnknownTxnType:
			if row.Detail == "" || row.Holding != (fund.RTAHolding{}) || row.Txn.Folio != "" || !row.Txn.Units.IsZero() {
				t.Fatalf("line %d: rejected row %+v", row.Line, row)
			}
		default:
			t.Fatalf("line %d: unknown reason %q", row.Line, row.Reason)
		}
	}

	// Written back, the good rows read the same.
	var buf bytes.Buffer
	w, err := NewWriter(&buf, p.Layout(), p.Delimiter(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range good {
		if p.Layout().Kind == Holdings {
			err = w.Holding(row.Holding)
		} else {
			err = w.Txn(row.Txn)
		}
		if err != nil {
			t.Fatalf("write back line %d: %v", row.Line, err)
		}
	}
	w.Flush()
	p2, err := NewParser(&buf)
	if err != nil {
		t.Fatalf("reparse: %v", err)
	}
	for i := 0; ; i++ {
		row, err := p2.Next()
		if errors.Is(err, io.EOF) {
			if i != len(good) {
				t.Fatalf("reparse: %d rows, want %d", i, len(good))
			}
			break
		}
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if i >= len(good) || row.Reason != "" {
			t.Fatalf("reparse row %d: %+v", i, row)
		}
		orig := good[i]
		if (p.Layout().Kind == Holdings && !sameHolding(row.Holding, orig.Holding)) ||
			(p.Layout().Kind == Transactions && !sameTxn(row.Txn, orig.Txn)) {
			t.Fatalf("line %d changed on the way through Writer:\n got %+v %+v\nwant %+v %+v\nfile %q", orig.Line, row.Holding, row.Txn, orig.Holding, orig.Txn, buf.String())
		}
	}

	// Decode (the feed decoder) sees the same rows.
	if len(good) > 0 {
		next, err := Decode(bytes.NewReader(plain), fund.Origin{File: "f"})
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		n := 0
		for {
			it, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Decode next: %v", err)
			}
			if it.From.Line != it.Row.Line {
				t.Fatalf("Decode position %d, row line %d", it.From.Line, it.Row.Line)
			}
			if it.Row.Reason == "" {
				n++
			}
		}
		if n != len(good) {
			t.Fatalf("Decode %d good rows, parser %d", n, len(good))
		}
	}
}

func checkGood(t *testing.T, l *Layout, row Row) {
	t.Helper()
	if l.Kind == Holdings {
		h := row.Holding
		if h.RTA != l.RTA || h.Folio == "" || h.Product == "" || h.AsOf.IsZero() || h.Units.Sign() < 0 || h.Units.Scale() < fund.DefaultUnitsScale ||
			h.NAV.IsNegative() || row.Txn.Folio != "" {
			t.Fatalf("line %d: bad good holding %+v", row.Line, h)
		}
		return
	}
	x := row.Txn
	if x.RTA != l.RTA || x.Folio == "" || x.Product == "" || x.TxnNo == "" || x.TypeCode == "" || !x.Kind.Valid() ||
		x.TradeDate.IsZero() || x.NAVDate.IsZero() || x.Amount.IsNegative() || x.StampDuty.IsNegative() || x.NAV.IsNegative() ||
		(x.Kind.IssuesUnits() && x.Units.Sign() < 0) || (!x.Kind.IssuesUnits() && x.Units.Sign() > 0) || row.Holding.Folio != "" {
		t.Fatalf("line %d: bad good transaction %+v", row.Line, x)
	}
	if want := l.codes[upperASCII(x.TypeCode)]; want != x.Kind {
		t.Fatalf("line %d: code %q gave %v, the code list says %v", row.Line, x.TypeCode, x.Kind, want)
	}
}

func upperASCII(s string) string { return string(bytes.ToUpper([]byte(s))) }
