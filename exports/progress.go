package exports

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress draws a progress bar on w (stderr) for an export of total rows:
// redrawn at most every 200 ms, and only once the export has run for half
// a second, so short exports print nothing but the final line.
type Progress struct {
	W     io.Writer
	Label string
	Total int64
	start time.Time
	last  time.Time
	drawn bool
}

// NewProgress starts a bar.
func NewProgress(w io.Writer, label string, total int64) *Progress {
	now := time.Now()
	return &Progress{W: w, Label: label, Total: total, start: now, last: now}
}

// Update redraws the bar for n rows written.
func (p *Progress) Update(n int64) {
	now := time.Now()
	if now.Sub(p.start) < 500*time.Millisecond || now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	fmt.Fprint(p.W, "\r"+p.line(n, now))
}

// Done prints the final line.
func (p *Progress) Done(n int64) {
	if p.drawn {
		fmt.Fprint(p.W, "\r")
	}
	fmt.Fprintln(p.W, p.line(n, time.Now()))
}

func (p *Progress) line(n int64, now time.Time) string {
	const width = 30
	frac := 1.0
	if p.Total > 0 {
		frac = min(1, float64(n)/float64(p.Total))
	}
	full := int(frac * width)
	bar := strings.Repeat("=", full)
	if full < width {
		bar += ">" + strings.Repeat(" ", width-full-1)
	}
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(n) / el
	}
	return fmt.Sprintf("%s [%s] %3.0f%% %d/%d rows  %.1fs  %.0f rows/s ", p.Label, bar, frac*100, n, p.Total, el, rate)
}
