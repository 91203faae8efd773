package api

import (
	"bytes"
	"fmt"
	"io"

	"github.com/go-pdf/fpdf"

	"github.com/fundflow/fundflow/readmodel"
)

// RenderAUMChart draws the analysts' AUM chart as a one-page PDF with the
// statement's chart (drawChart): the total AUM ("Value") against the money
// put in net of money taken out since the first day ("Invested"), at each
// point's date, so the gap between the lines is what the markets did.
func RenderAUMChart(w io.Writer, title string, lines []string, pts []readmodel.SeriesPoint) error {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetTitle(title, true)
	pdf.SetCreator("fundflow", true)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 15)
	pdf.CellFormat(0, 9, tr(title), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 9)
	for _, l := range lines {
		pdf.CellFormat(0, 5, tr(l), "", 1, "L", false, 0, "")
	}
	drawChart(pdf, pts, 15, pdf.GetY()+3, 265, 150)
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return fmt.Errorf("api: aum chart: %w", err)
	}
	_, err := b.WriteTo(w)
	return err
}
