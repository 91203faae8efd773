package files

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/shopspring/decimal"
)

// Any strings and decimals: the CSV reads back to what was written, or the
// decimal is refused for not fitting its column.
func FuzzCSV(f *testing.F) {
	f.Add("plain", "a,b\"c\nd", int64(12345), int32(2))
	f.Add("", "\r\n", int64(-1), int32(0))
	f.Add("ü", " lead", int64(1)<<62, int32(9))
	f.Fuzz(func(t *testing.T, a, b string, coef int64, exp int32) {
		if exp < 0 || exp > 12 {
			return
		}
		cols := []Column{Col("a", String), Col("b", String), Dec("d", 18, 2)}
		d := decimal.New(coef, -exp)
		var buf bytes.Buffer
		w, err := New("csv", &buf, cols)
		if err != nil {
			t.Fatal(err)
		}
		werr := w.Write([]any{a, b, d})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		fitsCol := d.Equal(d.Truncate(2)) && d.Abs().LessThan(decimal.New(1, 16))
		if werr != nil {
			if fitsCol {
				t.Fatalf("refused %s: %v", d, werr)
			}
			return
		}
		if !fitsCol {
			t.Fatalf("wrote %s into decimal(18,2)", d)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("read back: %v %v", recs, err)
		}
		// encoding/csv turns \r\n inside a quoted field into \n.
		norm := func(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte("\r\n"), []byte("\n"))) }
		got, _ := decimal.NewFromString(recs[1][2])
		if recs[1][0] != norm(a) || recs[1][1] != norm(b) || !got.Equal(d) {
			t.Fatalf("wrote %q %q %s, read %q", a, b, d, recs[1])
		}
	})
}
