package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// copyNAVs copies rows into navs in COPY's binary format, encoded here
// field by field: pgx's CopyFrom asks for each row's values as a []any
// (eight boxed values a row) and looks up an encode plan per value, the
// largest part of the sink's own CPU (issue 15). The bytes are pgx's for
// the same values (TestNAVCopyIsPgxsCopy); numerics outside the fast
// encoder's range go through the connection's own numeric encoder.
func copyNAVs(ctx context.Context, tx pgx.Tx, rows []*fund.NAVLine, ids sourceIDs) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf, err := appendNAVCopy((*bp)[:0], tx.Conn().TypeMap(), rows, ids)
	*bp = buf[:0]
	if err != nil {
		return 0, err
	}
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf), navCopySQL)
	return tag.RowsAffected(), err
}

// navCopySQL is the statement pgx's CopyFrom sends for navColumns.
var navCopySQL = "copy " + pgx.Identifier{"navs"}.Sanitize() + " ( " + quotedColumns(navColumns) + " ) from stdin binary;"

func quotedColumns(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// copyBufs keeps a batch's COPY stream between batches (about 65 bytes a
// row: 1 MB at the default 16,000 rows).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1<<16); return &b }}

var copySignature = []byte("PGCOPY\n\377\r\n\000")

// dateEpoch is Postgres' day 0 for dates.
var dateEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// appendNAVCopy appends the COPY binary stream of rows (header, one tuple
// of navColumns a row, trailer), each row's file as its id in ids. m
// encodes what the fast numeric encoder does not take.
func appendNAVCopy(buf []byte, m *pgtype.Map, rows []*fund.NAVLine, ids sourceIDs) ([]byte, error) {
	buf = append(buf, copySignature...)
	buf = binary.BigEndian.AppendUint32(buf, 0) // flags
	buf = binary.BigEndian.AppendUint32(buf, 0) // header extension length
	var err error
	var hit sourceHit
	for _, n := range rows {
		if n.From.Line < math.MinInt32 || n.From.Line > math.MaxInt32 {
			return nil, fmt.Errorf("copy navs: %s line %d does not fit source_line (integer)", n.From.File, n.From.Line)
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(navColumns)))
		buf = appendText(buf, n.SchemeCode)
		buf = binary.BigEndian.AppendUint32(buf, 4)
		buf = binary.BigEndian.AppendUint32(buf, uint32(int32((n.Date.Time().Unix()-dateEpoch)/86400)))
		if buf, err = appendNumericField(buf, m, decimal.NullDecimal{Decimal: n.NAV, Valid: true}); err != nil {
			return nil, err
		}
		if buf, err = appendNumericField(buf, m, n.Repurchase); err != nil {
			return nil, err
		}
		if buf, err = appendNumericField(buf, m, n.Sale); err != nil {
			return nil, err
		}
		var id int32
		if id, err = ids.idOf(n, &hit); err != nil {
			return nil, fmt.Errorf("copy navs: %w", err)
		}
		buf = binary.BigEndian.AppendUint32(buf, 4)
		buf = binary.BigEndian.AppendUint32(buf, uint32(id))
		buf = binary.BigEndian.AppendUint32(buf, 4)
		buf = binary.BigEndian.AppendUint32(buf, uint32(int32(n.From.Line)))
	}
	return binary.BigEndian.AppendUint16(buf, 0xffff), nil // trailer: -1
}

// appendText appends a text field: its length and its bytes (text's binary
// form is the text; the validator has checked it is UTF-8 without NUL).
func appendText(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// appendNumericField appends a numeric field, or NULL (length -1).
func appendNumericField(buf []byte, m *pgtype.Map, d decimal.NullDecimal) ([]byte, error) {
	if !d.Valid {
		return binary.BigEndian.AppendUint32(buf, 0xffffffff), nil
	}
	at := len(buf)
	buf = append(buf, 0, 0, 0, 0) // the length, set below
	out, ok := appendNumeric(buf, d.Decimal)
	if !ok {
		var err error
		if out, err = m.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, pgxdecimal.Decimal(d.Decimal), buf); err != nil {
			return nil, fmt.Errorf("copy navs: encode %s: %w", d.Decimal, err)
		}
	}
	binary.BigEndian.PutUint32(out[at:], uint32(len(out)-at-4))
	return out, nil
}
