// Package files writes tables of typed rows as CSV or Parquet (through
// Apache Arrow, with exact decimal128 columns) for compliance exports, and
// describes each file written (rows, bytes, SHA-256) for a manifest.
//
// A row is a []any in column order; each value has its column's Go type:
// string (String), int64 (Int64), bool (Bool), fund.Date (Date), time.Time
// (Timestamp, microseconds, UTC) or decimal.Decimal (Decimal, which must
// fit its scale exactly: round before writing). nil is a null.
package files

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Type is a column type.
type Type int

// Column types.
const (
	String Type = iota
	Int64
	Bool
	Date
	Timestamp
	Decimal
)

// Column is one column of a table.
type Column struct {
	Name      string `json:"name"`
	Type      Type   `json:"-"`
	Precision int32  `json:"-"` // Decimal: total digits (≤ 38)
	Scale     int32  `json:"-"` // Decimal: digits after the point
	TypeName  string `json:"type"`
}

// Col returns a column of a non-decimal type.
func Col(name string, t Type) Column { return Column{Name: name, Type: t, TypeName: typeName(t, 0, 0)} }

// Dec returns a decimal column.
func Dec(name string, precision, scale int32) Column {
	return Column{Name: name, Type: Decimal, Precision: precision, Scale: scale, TypeName: typeName(Decimal, precision, scale)}
}

func typeName(t Type, p, s int32) string {
	switch t {
	case String:
		return "string"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	case Date:
		return "date"
	case Timestamp:
		return "timestamp_us_utc"
	}
	return fmt.Sprintf("decimal(%d,%d)", p, s)
}

// Writer writes rows of one table to one file.
type Writer interface {
	Write(row []any) error
	Close() error // flushes; the underlying io.Writer is not closed
}

// New returns a writer of format "csv" or "parquet" over w.
func New(format string, w io.Writer, cols []Column) (Writer, error) {
	switch format {
	case "csv":
		return newCSV(w, cols)
	case "parquet":
		return newParquet(w, cols)
	}
	return nil, fmt.Errorf("files: format %q: csv or parquet", format)
}

// Ext is a format's file extension.
func Ext(format string) string { return format }

// ContentType is a format's media type.
func ContentType(format string) string {
	if format == "parquet" {
		return "application/vnd.apache.parquet"
	}
	return "text/csv; charset=utf-8"
}

// TimestampLayout is how CSV writes a Timestamp (UTC, microseconds).
const TimestampLayout = "2006-01-02T15:04:05.000000Z"

// checkValue returns v's text for CSV after checking its type.
func text(c Column, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	switch c.Type {
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case Int64:
		if n, ok := v.(int64); ok {
			return fmt.Sprint(n), nil
		}
	case Bool:
		if b, ok := v.(bool); ok {
			return fmt.Sprint(b), nil
		}
	case Date:
		if d, ok := v.(fund.Date); ok {
			return d.String(), nil
		}
	case Timestamp:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Truncate(time.Microsecond).Format(TimestampLayout), nil
		}
	case Decimal:
		if d, ok := v.(decimal.Decimal); ok {
			if err := fits(c, d); err != nil {
				return "", err
			}
			return d.StringFixed(c.Scale), nil
		}
	}
	return "", fmt.Errorf("files: column %s (%s): value %v of type %T", c.Name, c.TypeName, v, v)
}

// fits checks a decimal has no digits beyond its column's scale and not
// more integer digits than its precision allows (nothing is rounded here).
func fits(c Column, d decimal.Decimal) error {
	if !d.Equal(d.Truncate(c.Scale)) {
		return fmt.Errorf("files: column %s: %s has more than %d decimals", c.Name, d, c.Scale)
	}
	if d.Abs().GreaterThanOrEqual(decimal.New(1, c.Precision-c.Scale)) {
		return fmt.Errorf("files: column %s: %s does not fit decimal(%d,%d)", c.Name, d, c.Precision, c.Scale)
	}
	return nil
}

// Summer counts and hashes what passes through it.
type Summer struct {
	W     io.Writer
	h     hash.Hash
	Bytes int64
}

// NewSummer wraps w.
func NewSummer(w io.Writer) *Summer { return &Summer{W: w, h: sha256.New()} }

func (s *Summer) Write(p []byte) (int, error) {
	n, err := s.W.Write(p)
	s.h.Write(p[:n])
	s.Bytes += int64(n)
	return n, err
}

// SHA256 is the hex SHA-256 of everything written.
func (s *Summer) SHA256() string { return hex.EncodeToString(s.h.Sum(nil)) }
