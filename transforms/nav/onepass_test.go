package nav

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// decodeWith decodes data with files up to limit bytes parsed once.
func decodeWith(t testing.TB, data []byte, limit int64) ([]Item, error) {
	t.Helper()
	old := onePassBytes
	onePassBytes = limit
	defer func() { onePassBytes = old }()
	next, err := Decode(bytes.NewReader(data), fund.Origin{File: "f.txt", SHA256: "sha"})
	if err != nil {
		return nil, err
	}
	var items []Item
	for {
		it, err := next()
		if errors.Is(err, io.EOF) {
			return items, nil
		}
		if err != nil {
			return items, err
		}
		items = append(items, it)
	}
}

// A file parsed once gives exactly the items, in order, that the same
// file parsed twice gives (the way every file was read before): same
// lines, raw bytes, records, business date, header and first-said rows.
// On every real NAVAll fixture, and on the fuzz seeds.
func TestDecodeOnceGivesWhatDecodeTwiceGives(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(filepath.Dir(testkit.Fixture(t, "amfi/navall/NAVAll_2019-06-21.txt")), "*.txt"))
	if err != nil || len(files) < 5 {
		t.Fatalf("%d fixtures (%v)", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) > OnePassBytes {
			t.Fatalf("%s is %d bytes, more than OnePassBytes: a daily file would be parsed twice", f, len(data))
		}
		once, err1 := decodeWith(t, data, OnePassBytes)
		twice, err2 := decodeWith(t, data, 0)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", f, err1, err2)
		}
		if len(once) < 1000 || !reflect.DeepEqual(once, twice) {
			t.Errorf("%s: parsed once %d items, twice %d; not the same items", filepath.Base(f), len(once), len(twice))
		}
	}
}

func FuzzDecodeOnceIsDecodeTwice(f *testing.F) {
	const h = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\n"
	f.Add([]byte(h + "Open Ended Schemes(Equity)\nAMC\n100;-;-;A;10.5;01-Dec-2026\n100;-;-;A;10.6;01-Dec-2026\n100;-;-;A;10.50;01-Dec-2026\n"))
	f.Add([]byte(h + "M\xfcller AMC\n100;-;-;B\x00x;10;01-Dec-2026\n101;-;-;C;N.A.;01-Dec-2026\n101;-;-;C;2;01-Dec-2026\n"))
	f.Add([]byte("<html>error</html>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		once, err1 := decodeWith(t, data, OnePassBytes)
		twice, err2 := decodeWith(t, data, 0)
		if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("errors differ: %v / %v", err1, err2)
		}
		if !reflect.DeepEqual(once, twice) {
			t.Fatalf("parsed once %d items, twice %d; not the same", len(once), len(twice))
		}
	})
}

// Decoding a daily NAVAll file: parsed once (as now) or twice (before).
func BenchmarkDecodeNAVAll(b *testing.B) {
	data, err := os.ReadFile(testkit.Fixture(b, "amfi/navall/NAVAll_2019-06-21.txt"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		limit int64
	}{{"once", OnePassBytes}, {"twice", 0}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			old := onePassBytes
			onePassBytes = c.limit
			defer func() { onePassBytes = old }()
			for i := 0; i < b.N; i++ {
				next, err := Decode(bytes.NewReader(data), fund.Origin{File: "f.txt"})
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := next(); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// A file of more rows than onePassRows drops what it kept and is parsed
// twice: the same items as a file parsed twice from the start (a real
// fixture of ~18k rows, the bound lowered to 1,000), so a poison file of
// millions of short lines cannot hold them all in memory.
func TestDecodeOverOnePassRowsParsesTwice(t *testing.T) {
	data, err := os.ReadFile(testkit.Fixture(t, "amfi/navall/NAVAll_2026-08-21_8col-plan-option.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(data, []byte("\n")); lines > OnePassRows {
		t.Fatalf("a daily file has %d lines, more than OnePassRows %d: it would be parsed twice", lines, OnePassRows)
	}
	twice, err := decodeWith(t, data, 0)
	if err != nil {
		t.Fatal(err)
	}
	old := onePassRows
	onePassRows = 1000
	defer func() { onePassRows = old }()
	over, err := decodeWith(t, data, OnePassBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(twice) < 10_000 || !reflect.DeepEqual(over, twice) {
		t.Fatalf("over the row bound %d items, twice %d; not the same items", len(over), len(twice))
	}
}
