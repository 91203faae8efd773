package api

import (
	"bytes"
	"math"
	"net/http"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/readmodel"
)

func (s *Server) statement(w http.ResponseWriter, r *http.Request, p Principal) error {
	folio := r.PathValue("folio")
	from, err := dateParam(r, "from")
	if err != nil {
		return err
	}
	to, err := dateParam(r, "to")
	if err != nil {
		return err
	}
	if to == nil {
		t := s.today()
		to = &t
	}
	if _, err := s.folioFor(r.Context(), p, folio); err != nil {
		return err
	}
	var start fund.Date // zero: from the folio's first transaction
	if from != nil {
		if from.After(*to) {
			return badRequest("from %s is after to %s", from, to)
		}
		start = *from
	}
	st, err := s.store.Statement(r.Context(), folio, start, *to)
	if err != nil {
		return err
	}
	x := StatementExtras{PAN: s.openPII(p, st.Investor.ID, "pan", st.Investor.PANSealed), Now: s.cfg.Now()}
	if s.cfg.Tax != nil { // the folio's capital gains of the FY the statement ends in
		if x.Gains, err = s.cfg.Tax.Statement(r.Context(), st.Investor.ID, ftax.FYOf(st.To)); err != nil {
			return err
		}
	}
	if x.Wallets, err = s.statementWallets(r.Context(), folio, st.From, st.To); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := RenderStatement(&buf, st, x); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", disposition("inline", "statement", folio, st.From.String(), st.To.String(), ".pdf"))
	w.Header().Set("Cache-Control", "no-store")
	_, err = buf.WriteTo(w)
	return err
}

// chartScale maps a series onto the plot box: px places a date, py a
// rupee amount (floats: positions only), the axis step and top value are
// round numbers (niceStep) covering the largest value or invested amount.
func chartScale(pts []readmodel.SeriesPoint, left, top, right, bottom float64) (px func(fund.Date) float64, py func(decimal.Decimal) float64, step, maxY float64) {
	maxV := 0.0
	for _, p := range pts {
		v, _ := p.Value.Float64()
		i, _ := p.Invested.Float64()
		maxV = math.Max(maxV, math.Max(v, i))
	}
	step = niceStep(maxV / 4)
	maxY = step * math.Ceil(maxV/step)
	if maxY == 0 {
		maxY = 1
	}
	t0 := pts[0].Date.Time()
	span := pts[len(pts)-1].Date.Time().Sub(t0).Hours()
	if span == 0 {
		span = 24
	}
	px = func(d fund.Date) float64 { return left + (right-left)*d.Time().Sub(t0).Hours()/span }
	py = func(v decimal.Decimal) float64 { f, _ := v.Float64(); return bottom - (bottom-top)*f/maxY }
	return px, py, step, maxY
}

// niceStep rounds a raw axis step up to 1, 2 or 5 × a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}
