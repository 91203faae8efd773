package amfi

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// FuzzParser feeds arbitrary bytes to the parser and to Check. Invariants:
// nothing panics; an input is either refused as a whole with ErrNotNAVFile
// or parsed to EOF; every Row has a Line > 0 (strictly increasing), Raw is
// exactly that line of the input, and it is either good (NAV > 0, a numeric
// scheme code, a date) or rejected with a known reason and a detail; Check
// agrees with the streaming parse on every count.
func FuzzParser(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "NAVAll_*"))
	if err != nil || len(files) == 0 {
		fixture(f, "NAVAll_2019-06-21.txt") // fails with the "where are the fixtures" message
	}
	for _, path := range files {
		data := fixture(f, filepath.Base(path))
		if strings.HasSuffix(path, ".html") {
			f.Add(data)
			continue
		}
		f.Add(firstLines(data, 200))
	}
	f.Add([]byte("Scheme Code;NAV Name;Plan;Option;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Date\n\n" +
		"Open Ended Schemes ( Debt Scheme - Overnight Fund )\n\n\nBank of India Mutual Fund\n" +
		"149412;BANK OF INDIA Overnight Fund Unclaimed IDCW Plan;;;;;1000.0000;20-Sep-2026\n"))
	f.Add([]byte("Scheme Code;Scheme Name;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Repurchase Price;Sale Price;Date\r\n" +
		"Open Ended Schemes ( Debt Scheme - Overnight Fund )\r\n\r\n\r\nDSP Mutual Fund\r\n100;F;;;.5;;;03-Jan-2026\r\n101;G;-;-;10.;0;N.A.;04-Jan-2026"))
	f.Add([]byte(""))
	f.Add([]byte("\ufeff" + header6 + "\r\r\n1;-;-;F;1;01-Jan-2026\r\r\n2;-;-;F;1;09-Jan-2026"))

	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := NewParser(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrNotNAVFile) {
				t.Fatalf("NewParser: %v, want ErrNotNAVFile", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			if _, cerr := Check(bytes.NewReader(data)); !errors.Is(cerr, ErrNotNAVFile) {
				t.Fatalf("NewParser refused the input (%v) but Check says %v", err, cerr)
			}
			return
		}
		lines := bytes.Split(data, []byte("\n"))
		good, prev := 0, 0
		rejected := map[string]int{}
		counts := map[fund.Date]int{}
		for {
			r, err := p.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if r.Line <= prev || r.Line > len(lines) {
				t.Fatalf("row line %d after %d (input has %d lines)", r.Line, prev, len(lines))
			}
			prev = r.Line
			if r.Reason == ReasonLineTooLong {
				// Kept: only the line's first bytes, whatever they are.
				if l := bytes.TrimRight(lines[r.Line-1], "\r"); len(l) <= MaxLineBytes || !bytes.HasPrefix(l, r.Raw) || len(r.Raw) > keptOfLongLine {
					t.Fatalf("line %d (%d bytes): line_too_long with Raw of %d bytes", r.Line, len(l), len(r.Raw))
				}
				rejected[r.Reason]++
				continue
			}
			if want := bytes.TrimRight(lines[r.Line-1], "\r"); !bytes.Equal(r.Raw, want) {
				t.Fatalf("line %d: Raw %q, want %q", r.Line, r.Raw, want)
			}
			if !bytes.Contains(r.Raw, []byte(";")) {
				t.Fatalf("line %d: a row without ';': %q", r.Line, r.Raw)
			}
			switch r.Reason {
			case "":
				rec := r.Record
				if !rec.NAV.IsPositive() || rec.SchemeCode == "" || strings.Trim(rec.SchemeCode, "0123456789") != "" ||
					rec.Date.IsZero() || r.Detail != "" {
					t.Fatalf("line %d: bad good row %+v detail %q", r.Line, rec, r.Detail)
				}
				good++
				counts[rec.Date]++
			case ReasonNAVNotAvailable, ReasonBadNAV, ReasonBadDate, ReasonBadFieldCount, ReasonMissingSchemeCode:
				if r.Detail == "" {
					t.Fatalf("line %d: %s without detail", r.Line, r.Reason)
				}
				if !r.Record.NAV.IsZero() || !r.Record.Date.IsZero() {
					t.Fatalf("line %d: rejected row with NAV %s date %v", r.Line, r.Record.NAV, r.Record.Date)
				}
				rejected[r.Reason]++
			default:
				t.Fatalf("line %d: unknown reason %q", r.Line, r.Reason)
			}
		}
		if _, err := p.Next(); err != io.EOF {
			t.Fatalf("Next after EOF = %v", err)
		}

		rep, err := Check(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		future := rep.Reasons[ReasonFutureDate]
		sum, nRejected := 0, 0
		for _, n := range rep.Reasons {
			sum += n
		}
		for reason, n := range rejected {
			nRejected += n
			if rep.Reasons[reason] != n {
				t.Fatalf("Check %s = %d, stream %d", reason, rep.Reasons[reason], n)
			}
		}
		if rep.Layout != p.Layout() || rep.Rows+future != good || rep.Quarantined != nRejected+future || sum != rep.Quarantined ||
			len(rep.Reasons) != len(rejected)+map[bool]int{true: 1}[future > 0] {
			t.Fatalf("Check %+v disagrees with stream: good %d rejected %v", rep, good, rejected)
		}
		if bd := BusinessDate(counts); (bd.IsZero() && rep.BusinessDate != "") || (!bd.IsZero() && rep.BusinessDate != bd.String()) {
			t.Fatalf("business date %q, stream %v", rep.BusinessDate, bd)
		}
		if rep.Schemes > rep.Rows || rep.AMCs > rep.Rows || rep.Categories > rep.Rows || (rep.Rows > 0) != (rep.MinDate != "") ||
			rep.MinDate > rep.MaxDate {
			t.Fatalf("inconsistent report %+v", rep)
		}
	})
}

// firstLines returns the first n lines of data (with their terminators).
func firstLines(data []byte, n int) []byte {
	end := 0
	for i := 0; i < n && end < len(data); i++ {
		j := bytes.IndexByte(data[end:], '\n')
		if j < 0 {
			return data
		}
		end += j + 1
	}
	return data[:end]
}
