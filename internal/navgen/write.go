package navgen

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Summary is what `fundflow gen nav-history` wrote.
type Summary struct {
	Stats
	First   string  `json:"first"`
	Last    string  `json:"last"`
	Out     string  `json:"out"` // the folder, or the history report's path
	Seconds float64 `json:"seconds"`
}

// Write writes the generator's days into dir (made if missing): one
// NAVAll file a day, with a progress line on progress every 50 files, or
// with history one history report.
func (g *Generator) Write(dir string, history bool, progress io.Writer) (Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, err
	}
	t0 := time.Now()
	ds := g.Days()
	sum := Summary{First: ds[0].String(), Last: ds[len(ds)-1].String(), Out: dir}
	var err error
	if history {
		sum.Out, sum.Stats, err = g.WriteHistoryFile(dir)
	} else {
		sum.Stats, err = g.WriteNAVAllDir(dir, func(done int, st Stats) {
			if done%50 == 0 {
				fmt.Fprintf(progress, "gen: %d/%d files, %d rows\n", done, len(ds), st.Rows)
			}
		})
	}
	sum.Seconds = time.Since(t0).Round(10 * time.Millisecond).Seconds()
	return sum, err
}
