package aml

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func fixture(t *testing.T) *List {
	t.Helper()
	f, err := os.Open("testdata/un_consolidated_extract.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := ParseUNList(f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The real extract: five individuals; names are FIRST_NAME SECOND_NAME
// and every ';'-separated alias (counted by hand from the file).
func TestParseUNList(t *testing.T) {
	l := fixture(t)
	if want := time.Date(2015, 2, 26, 21, 23, 35, 520_000_000, time.UTC); !l.Generated.Equal(want) {
		t.Errorf("generated %s, want %s", l.Generated, want)
	}
	want := []struct {
		id, ref, first string
		names          int
	}{
		{"110404", "IRi.043", "MOHAMMAD BAQER ZOLQADR", 1 + 4},
		{"110405", "IRi.042", "MOHAMMAD REZA ZAHEDI", 1 + 2},
		{"110406", "IRi.041", "ALI AKBAR TABATABAEI", 1 + 2 + 3},
		{"110407", "IRi.040", "GHASEM SOLEYMANI", 1 + 3},
		{"110408", "IRi.039", "QASEM SOLEIMANI", 1 + 8 + 3},
	}
	if len(l.Entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(l.Entries), len(want))
	}
	for i, w := range want {
		e := l.Entries[i]
		if e.DataID != w.id || e.Reference != w.ref || e.Kind != "individual" || e.Names[0] != w.first || len(e.Names) != w.names {
			t.Errorf("entry %d: %s %s %s %q (%d names), want %+v", i, e.DataID, e.Reference, e.Kind, e.Names[0], len(e.Names), w)
		}
	}
}

func TestParseUNListRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"not the list": `<SDN><INDIVIDUAL><DATAID>1</DATAID><FIRST_NAME>A</FIRST_NAME></INDIVIDUAL></SDN>`,
		"no date":      `<CONSOLIDATED_LIST><INDIVIDUALS/></CONSOLIDATED_LIST>`,
		"no name":      `<CONSOLIDATED_LIST dateGenerated="2026-01-01T00:00:00Z"><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>`,
		"truncated":    `<CONSOLIDATED_LIST dateGenerated="2026-01-01T00:00:00Z"><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID>`,
		"bad date":     `<CONSOLIDATED_LIST dateGenerated="yesterday"></CONSOLIDATED_LIST>`,
	} {
		if _, err := ParseUNList(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	l, err := ParseUNList(strings.NewReader(`<CONSOLIDATED_LIST dateGenerated="2026-01-01T00:00:00Z"><ENTITIES><ENTITY><DATAID>9</DATAID><FIRST_NAME>AL-QAIDA</FIRST_NAME><ENTITY_ALIAS><ALIAS_NAME>The Base</ALIAS_NAME></ENTITY_ALIAS></ENTITY></ENTITIES></CONSOLIDATED_LIST>`))
	if err != nil || len(l.Entries) != 1 || l.Entries[0].Kind != "entity" || !slices.Equal(l.Entries[0].Names, []string{"AL-QAIDA", "The Base"}) {
		t.Errorf("entity: %+v %v", l, err)
	}
}

func TestNormalise(t *testing.T) {
	for in, want := range map[string]string{
		"Mohammad":           "muhamad",
		"Muhammad":           "muhamad",
		"Mohammed":           "muhamid", // e/i fold (JW to muhamad is high)
		"QASEM SOLEIMANI":    "kasim sulimani",
		"Kasim Sulaimani":    "kasim sulaimani",
		"Ghasem":             "gasim",
		"Hossein Saleemi":    "husin salimi",
		"Sayed Akbar":        "akbar",
		"Abd al-Rahman":      "abd raman",         // al dropped; silent h
		"José Müller-Öztürk": "jusi mulir usturk", // accents dropped, z/s fold
		"  ":                 "",
		"Yahya  Raheem":      "iaia rahim", // y/i; an h after a vowel and before a consonant is silent
	} {
		if got := Normalise(in); got != want {
			t.Errorf("Normalise(%q) = %q, want %q", in, got, want)
		}
	}
}

// Jaro-Winkler by hand: MARTHA/MARHTA: m=6, t=1 (TH/HT is one
// transposition), jaro = (1+1+5/6)/3 = 0.944444; prefix MAR (3):
// 0.944444 + 3*0.1*(1-0.944444) = 0.961111. DIXON/DICKSONX: m=4 (D,I,O,N),
// t=0, jaro = (4/5+4/8+1)/3 = 0.766667; prefix DI: +2*0.1*0.233333 =
// 0.813333.
func TestJaroWinkler(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"MARTHA", "MARHTA", 0.961111}, {"DIXON", "DICKSONX", 0.813333}, {"", "", 1}, {"A", "", 0}, {"ABC", "XYZ", 0}, {"same", "same", 1},
	} {
		if got := JaroWinkler(c.a, c.b); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("JW(%q,%q) = %.6f, want %.6f", c.a, c.b, got, c.want)
		}
	}
}

// Transliteration variants of listed names hit their entry; ordinary
// investor names hit nothing at the default threshold.
func TestScreen(t *testing.T) {
	s := NewScreener(fixture(t), DefaultThreshold)
	for name, want := range map[string]string{
		"Muhammad Reza Zahidi":   "110405",
		"ZAHEDI Mohammed Reza":   "110405",
		"Kassem Sulaymani":       "110408",
		"Muhammed Baqir Zolqadr": "110404",
		"Ali Akbar Tabatabai":    "110406",
		"Ghassem Soleimany":      "110407",
	} {
		hits := s.Screen(name)
		if len(hits) == 0 || hits[0].Entry.DataID != want {
			t.Errorf("%q: hits %+v, want %s first", name, hits, want)
		}
	}
	for _, name := range []string{"Priya Sharma", "Rahul Verma", "Ali Khan", "Mohammad Iqbal", "Reza Patel", "Suresh Soman", "Anjali Menon", "Zahid Hussain"} {
		if hits := s.Screen(name); len(hits) != 0 {
			t.Errorf("%q hit %s %q (%.3f)", name, hits[0].Entry.DataID, hits[0].Listed, hits[0].Score)
		}
	}
}
