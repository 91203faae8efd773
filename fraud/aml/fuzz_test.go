package aml

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalise: any string normalises to lower-case a-z words separated
// by single spaces, the same again when normalised twice; Jaro-Winkler of
// any two is in [0, 1] and 1 for a name with itself.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"Mohammad Baqer Zolqadr", "QASEM SOLEIMANI", "José Müller-Öztürk", "Abd al-Rahman", "kh gh ph th qu ck", "\x00\xff", "Hhhhh aaaa", "schh", "qhuy", "Ma'mun", "अमित शर्मा"} {
		f.Add(s, "Qasim Sulaymani")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		n := Normalise(a)
		if Normalise(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", a, n, Normalise(n))
		}
		if n != strings.Join(strings.Fields(n), " ") {
			t.Fatalf("spacing: %q", n)
		}
		for _, r := range n {
			if r != ' ' && (r < 'a' || r > 'z') {
				t.Fatalf("%q has %q", n, r)
			}
		}
		if !utf8.ValidString(n) {
			t.Fatal("not UTF-8")
		}
		m := Normalise(b)
		if s := NameScore(n, m); s < 0 || s > 1 {
			t.Fatalf("score %f", s)
		}
		if n != "" && NameScore(n, n) != 1 {
			t.Fatalf("score with itself %f", NameScore(n, n))
		}
	})
}

// FuzzParseUNList: any bytes parse to a list whose every entry has an id
// and a name, or to an error; never a panic.
func FuzzParseUNList(f *testing.F) {
	real, err := os.ReadFile("testdata/un_consolidated_extract.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	f.Add([]byte(`<CONSOLIDATED_LIST dateGenerated="2026-01-01T00:00:00Z"><ENTITIES><ENTITY><DATAID>9</DATAID><FIRST_NAME>X</FIRST_NAME></ENTITY></ENTITIES></CONSOLIDATED_LIST>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseUNList(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range l.Entries {
			if e.DataID == "" || len(e.Names) == 0 {
				t.Fatalf("entry without id or name: %+v", e)
			}
		}
	})
}
