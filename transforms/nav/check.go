package nav

import (
	"context"
	"errors"
	"io"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// Check is the dry run of nav-ingest over one file (`fundflow check nav`):
// the run's own decoder and stage, with nothing written. It predicts the
// quarantine of a run with the same validator (every reason but nav_jump,
// which needs the stored NAVs, and duplicate repeats, which are dropped in
// both). It streams like the run: a seekable input is read twice from
// disk and only the distinct schemes, AMCs and categories are kept.
//
// An input that is not a NAV file returns an error for which both
// errors.Is(err, amfi.ErrNotNAVFile) and errors.Is(err,
// pipelines.ErrRejectFile) hold.
func Check(ctx context.Context, r io.Reader, file fund.Origin, v *Validator) (amfi.Report, error) {
	rep := amfi.Report{Reasons: map[string]int{}}
	next, err := Decode(r, file)
	if err != nil {
		return rep, err
	}
	type block struct{ typ, category string }
	schemes := map[string]struct{}{}
	amcs := map[string]struct{}{}
	blocks := map[block]struct{}{}
	var lo, hi fund.Date
	for {
		it, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep, err
		}
		rep.Layout = it.Layout
		if !it.Business.IsZero() {
			rep.BusinessDate = it.Business.String()
		}
		line, err := v.Stage(ctx, it)
		var rej *pipelines.RejectError
		switch {
		case errors.As(err, &rej):
			rep.Quarantined++
			rep.Reasons[rej.Reason]++
			continue
		case err != nil:
			return rep, err
		}
		rep.Rows++
		schemes[line.SchemeCode] = struct{}{}
		if line.AMC != "" {
			amcs[line.AMC] = struct{}{}
		}
		if line.SchemeType != "" || line.Category != "" {
			blocks[block{line.SchemeType, line.Category}] = struct{}{}
		}
		if lo.IsZero() || line.Date.Before(lo) {
			lo = line.Date
		}
		if hi.IsZero() || line.Date.After(hi) {
			hi = line.Date
		}
	}
	rep.Schemes, rep.AMCs, rep.Categories = len(schemes), len(amcs), len(blocks)
	if rep.Rows > 0 {
		rep.MinDate, rep.MaxDate = lo.String(), hi.String()
	}
	return rep, nil
}
