package navgen

import (
	"io"
	"os"
	"time"

	prog "github.com/fundflow/fundflow/internal/progress"
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
// NAVAll file a day, with progress on progress (internal/progress), or
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
		bar := prog.NewCounter(progress, "gen nav-history", "files", int64(len(ds)), 5*time.Second)
		sum.Stats, err = g.WriteNAVAllDir(dir, func(done int, st Stats) { bar.Update(int64(done)) })
		if err == nil {
			bar.Done(int64(len(ds)))
		}
	}
	sum.Seconds = time.Since(t0).Round(10 * time.Millisecond).Seconds()
	return sum, err
}
