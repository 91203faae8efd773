package files

import (
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// batchRows is how many rows make one Arrow record; rowGroupRows how many
// make one Parquet row group (WriteBuffered appends records to the open
// group until it is full).
const (
	batchRows    = 8192
	rowGroupRows = 128 * 1024
)

type parquetWriter struct {
	cols []Column
	fw   *pqarrow.FileWriter
	b    *array.RecordBuilder
	n    int
}

func arrowType(c Column) arrow.DataType {
	switch c.Type {
	case String:
		return arrow.BinaryTypes.String
	case Int64:
		return arrow.PrimitiveTypes.Int64
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	}
	return &arrow.Decimal128Type{Precision: c.Precision, Scale: c.Scale}
}

func newParquet(w io.Writer, cols []Column) (*parquetWriter, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(c), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(rowGroupRows))
	fw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return &parquetWriter{cols: cols, fw: fw, b: array.NewRecordBuilder(memory.DefaultAllocator, schema)}, nil
}

var epoch = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

func (p *parquetWriter) Write(row []any) error {
	for i, c := range p.cols {
		fb := p.b.Field(i)
		v := row[i]
		if v == nil {
			fb.AppendNull()
			continue
		}
		if _, err := text(c, v); err != nil { // type and fit checks
			return err
		}
		switch c.Type {
		case String:
			fb.(*array.StringBuilder).Append(v.(string))
		case Int64:
			fb.(*array.Int64Builder).Append(v.(int64))
		case Bool:
			fb.(*array.BooleanBuilder).Append(v.(bool))
		case Date:
			fb.(*array.Date32Builder).Append(arrow.Date32(v.(fund.Date).DaysSince(fund.DateOf(epoch))))
		case Timestamp:
			fb.(*array.TimestampBuilder).Append(arrow.Timestamp(v.(time.Time).UTC().Truncate(time.Microsecond).UnixMicro()))
		case Decimal:
			d := v.(decimal.Decimal)
			fb.(*array.Decimal128Builder).Append(decimal128.FromBigInt(d.Shift(c.Scale).BigInt()))
		}
	}
	p.n++
	if p.n >= batchRows {
		return p.flush()
	}
	return nil
}

func (p *parquetWriter) flush() error {
	if p.n == 0 {
		return nil
	}
	rec := p.b.NewRecord()
	defer rec.Release()
	p.n = 0
	return p.fw.WriteBuffered(rec)
}

func (p *parquetWriter) Close() error {
	defer p.b.Release()
	if err := p.flush(); err != nil {
		return err
	}
	return p.fw.Close()
}
