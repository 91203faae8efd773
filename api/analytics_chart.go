package api

import (
	"bytes"
	"fmt"
	"io"
	"math"

	"github.com/signintech/gopdf"

	"github.com/fundflow/fundflow/readmodel"
)

// RenderAUMChart draws the analysts' AUM chart as a one-page PDF (A4
// landscape) with the statement's chart: the total AUM ("Value") against
// the money put in net of money taken out since the first day
// ("Invested"), at each point's date, so the gap between the lines is what
// the markets did.
func RenderAUMChart(w io.Writer, title string, lines []string, pts []readmodel.SeriesPoint) error {
	d, err := newDoc(landscapeA4, gopdf.PdfInfo{Title: title})
	if err != nil {
		return fmt.Errorf("api: aum chart: %w", err)
	}
	d.para(title, true, 15, 9)
	for _, l := range lines {
		d.para(l, false, 9, 5)
	}
	d.y += 3
	d.chart(pts, d.left, d.y, d.right-d.left, math.Min(150, d.bottom-d.y-12))
	var b bytes.Buffer
	if err := d.finish(&b, nil); err != nil {
		return fmt.Errorf("api: aum chart: %w", err)
	}
	_, err = b.WriteTo(w)
	return err
}
