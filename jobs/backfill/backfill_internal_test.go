package backfill

import (
	"io"
	"strings"
	"testing"
)

// countLines counts a last line without a newline too, and leaves the file
// where it found it, so the decoder reads it whole.
func TestCountLinesCountsAnUnendedLastLineAndRewinds(t *testing.T) {
	for _, c := range []struct {
		text string
		want int
	}{{"", 0}, {"a\n", 1}, {"a\r\nb\r\n", 2}, {"a\nb", 2}, {strings.Repeat("x\n", 300000), 300000},
		{strings.Repeat("y", 64<<10) + "\n" + strings.Repeat("z", 64<<10), 2}} {
		r := strings.NewReader(c.text)
		got, err := countLines(r)
		if err != nil || got != c.want {
			t.Errorf("%.20q: %d lines (%v), want %d", c.text, got, err, c.want)
		}
		if rest, _ := io.ReadAll(r); string(rest) != c.text {
			t.Errorf("%.20q: not rewound", c.text)
		}
	}
}
