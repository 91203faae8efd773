package files

import (
	"encoding/csv"
	"io"
)

type csvWriter struct {
	w    *csv.Writer
	cols []Column
	rec  []string
}

func newCSV(w io.Writer, cols []Column) (*csvWriter, error) {
	cw := &csvWriter{w: csv.NewWriter(w), cols: cols, rec: make([]string, len(cols))}
	for i, c := range cols {
		cw.rec[i] = c.Name
	}
	return cw, cw.w.Write(cw.rec)
}

func (c *csvWriter) Write(row []any) error {
	for i, col := range c.cols {
		s, err := text(col, row[i])
		if err != nil {
			return err
		}
		c.rec[i] = s
	}
	return c.w.Write(c.rec)
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}
