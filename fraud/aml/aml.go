// Package aml screens investors' names against the UN Security Council
// Consolidated List in its published XML format
// (https://scsanctions.un.org/resources/xml/en/consolidated.xml:
// CONSOLIDATED_LIST > INDIVIDUALS > INDIVIDUAL, ENTITIES > ENTITY, each
// with DATAID, FIRST_NAME..FOURTH_NAME, REFERENCE_NUMBER and
// INDIVIDUAL_ALIAS/ENTITY_ALIAS > ALIAS_NAME, several names to an alias
// separated by ';'). Matching is fuzzy: names are normalised with the
// usual transliteration variants folded (Mohammad/Muhammad/Mohammed,
// Qasem/Kasim, Soleimani/Sulaymani) and compared by Jaro-Winkler, word
// order aside. Pure: the screening job (jobs/fraudeval, fraud/pgstore)
// acts on the hits.
package aml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Entry is one listed individual or entity.
type Entry struct {
	DataID    string
	Reference string // e.g. IRi.039
	Kind      string // individual, entity
	Names     []string
}

// List is one published list.
type List struct {
	Generated time.Time // the dateGenerated attribute
	Entries   []Entry
}

// Version names the list for alert ids: its generation time.
func (l *List) Version() string { return l.Generated.UTC().Format("20060102T150405Z") }

type xmlRecord struct {
	DataID    string     `xml:"DATAID"`
	First     string     `xml:"FIRST_NAME"`
	Second    string     `xml:"SECOND_NAME"`
	Third     string     `xml:"THIRD_NAME"`
	Fourth    string     `xml:"FOURTH_NAME"`
	Reference string     `xml:"REFERENCE_NUMBER"`
	Aliases   []xmlAlias `xml:"INDIVIDUAL_ALIAS"`
	EAliases  []xmlAlias `xml:"ENTITY_ALIAS"`
}

type xmlAlias struct {
	Name string `xml:"ALIAS_NAME"`
}

// maxEntries bounds a list (the real one has about a thousand).
const maxEntries = 200_000

// ParseUNList reads the consolidated list. A record without a DATAID or a
// name is an error naming it: a list we cannot read whole is not screened
// against (a half list would clear people it should not).
func ParseUNList(r io.Reader) (*List, error) {
	dec := xml.NewDecoder(r)
	l := &List{}
	seenRoot := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("UN list: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "CONSOLIDATED_LIST":
			seenRoot = true
			for _, a := range se.Attr {
				if a.Name.Local == "dateGenerated" {
					t, err := parseGenerated(a.Value)
					if err != nil {
						return nil, fmt.Errorf("UN list: dateGenerated %q: %w", a.Value, err)
					}
					l.Generated = t
				}
			}
		case "INDIVIDUAL", "ENTITY":
			if !seenRoot {
				return nil, errors.New("UN list: not a CONSOLIDATED_LIST document")
			}
			var rec xmlRecord
			if err := dec.DecodeElement(&rec, &se); err != nil {
				return nil, fmt.Errorf("UN list: record %d: %w", len(l.Entries)+1, err)
			}
			e := Entry{DataID: strings.TrimSpace(rec.DataID), Reference: strings.TrimSpace(rec.Reference), Kind: strings.ToLower(se.Name.Local)}
			if full := joinNonEmpty(rec.First, rec.Second, rec.Third, rec.Fourth); full != "" {
				e.Names = append(e.Names, full)
			}
			for _, a := range append(rec.Aliases, rec.EAliases...) {
				for _, n := range strings.Split(a.Name, ";") {
					if n = strings.TrimSpace(n); n != "" && !slices.Contains(e.Names, n) {
						e.Names = append(e.Names, n)
					}
				}
			}
			if e.DataID == "" || len(e.Names) == 0 {
				return nil, fmt.Errorf("UN list: record %d (%s) has no DATAID or no name", len(l.Entries)+1, e.Reference)
			}
			l.Entries = append(l.Entries, e)
			if len(l.Entries) > maxEntries {
				return nil, fmt.Errorf("UN list: more than %d records", maxEntries)
			}
		}
	}
	if !seenRoot {
		return nil, errors.New("UN list: not a CONSOLIDATED_LIST document")
	}
	if l.Generated.IsZero() {
		return nil, errors.New("UN list: no dateGenerated: which list is this?")
	}
	return l, nil
}

func parseGenerated(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a time")
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// Hit is one investor name matching one listed name.
type Hit struct {
	Entry  Entry
	Listed string  // the listed name (primary or alias) that matched
	Score  float64 // Jaro-Winkler of the normalised names, 0..1
}

// DefaultThreshold: at and above it a name is a hit (chosen on the
// fixture: every listed alias variant of a name scores above it, the
// unrelated names of the tests below it).
const DefaultThreshold = 0.92

// Screener matches names against a list.
type Screener struct {
	List      *List
	Threshold float64
	norm      [][]string // per entry, per name: the normalised forms
}

// NewScreener prepares l for screening.
func NewScreener(l *List, threshold float64) *Screener {
	s := &Screener{List: l, Threshold: threshold}
	for _, e := range l.Entries {
		var ns []string
		for _, n := range e.Names {
			ns = append(ns, Normalise(n))
		}
		s.norm = append(s.norm, ns)
	}
	return s
}

// Screen returns the best hit per listed entry for name, best first.
func (s *Screener) Screen(name string) []Hit {
	n := Normalise(name)
	if n == "" {
		return nil
	}
	var hits []Hit
	for i, e := range s.List.Entries {
		best, listed := 0.0, ""
		for j, ln := range s.norm[i] {
			if sc := NameScore(n, ln); sc > best {
				best, listed = sc, e.Names[j]
			}
		}
		if best >= s.Threshold {
			hits = append(hits, Hit{Entry: e, Listed: listed, Score: best})
		}
	}
	slices.SortStableFunc(hits, func(a, b Hit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return strings.Compare(a.Entry.DataID, b.Entry.DataID)
	})
	return hits
}

// NameScore compares two normalised names: Jaro-Winkler of the names as
// written and with their words sorted (lists and forms order given and
// family names differently), whichever is higher.
func NameScore(a, b string) float64 {
	s := JaroWinkler(a, b)
	if t := JaroWinkler(sortWords(a), sortWords(b)); t > s {
		s = t
	}
	return s
}

func sortWords(s string) string {
	w := strings.Fields(s)
	slices.Sort(w)
	return strings.Join(w, " ")
}
