package clickhouse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// navRow is what nav_history keeps of a NAV, in the encoding its columns
// are sent in, without a pointer: the GC never scans held rows, and a held
// row does not keep the parsed line (or any of the NAVLine) alive. 32
// bytes a row, against about 115 plus a big.Int for the strings and
// decimal it replaces.
type navRow struct {
	nav                      int64  // units of 10^-8: Decimal(18, 8)'s encoding
	code, amc, category, sha uint32 // indices in a strTable
	line                     uint32
	day                      uint16 // days since 1970-01-01: Date's encoding
}

// strTable keeps each distinct string of navRows once (scheme codes, AMCs,
// categories, files' SHA-256: about 15,000 for a day's NAVs, a few more
// each day after). strs only grows, and an index once given always names
// the same string, so a sender may read a copy of the slice while rows
// are added.
type strTable struct {
	strs []string
	ids  map[string]uint32
	// after[id] is 1 + the id of the scheme code that came after scheme
	// code id last (0: none yet); see codeID.
	after []uint32
}

// id is s's index, s copied in if new (it is often a slice of a whole
// line).
func (t *strTable) id(s string) uint32 {
	if id, ok := t.ids[s]; ok {
		return id
	}
	if t.ids == nil {
		t.ids = map[string]uint32{}
	}
	id := uint32(len(t.strs))
	s = strings.Clone(s)
	t.strs = append(t.strs, s)
	t.after = append(t.after, 0)
	t.ids[s] = id
	return id
}

// codeID is id(s) for the scheme code s that comes after the code prev
// (ok: there is one). A day's file lists the schemes in the order the day
// before did, so the code that came after prev last time is mostly s
// again: one comparison instead of a hash and a probe of a table of
// thousands (a cache miss, mostly).
func (t *strTable) codeID(prev uint32, ok bool, s string) uint32 {
	if !ok {
		return t.id(s)
	}
	if g := t.after[prev]; g != 0 && t.strs[g-1] == s {
		return g - 1
	}
	id := t.id(s)
	t.after[prev] = id + 1
	return id
}

// reset forgets every string (no row names one any more); a sender's copy
// of strs stays as it was.
func (t *strTable) reset() {
	t.strs, t.after = nil, nil
	clear(t.ids)
}

// lastID remembers the last string a column gave: AMC, category and file
// repeat row after row, and comparing with the last one (the same string,
// mostly: one comparison of pointers) spares a hash.
type lastID struct {
	s  string
	id uint32
	ok bool
}

func (l *lastID) of(t *strTable, s string) uint32 {
	if !l.ok || l.s != s {
		l.s, l.id, l.ok = s, t.id(s), true
	}
	return l.id
}

// ErrNAVNotStorable is returned for a NAV that Decimal(18, 8) cannot hold
// exactly: more than 8 decimals, or 10^10 or more in magnitude. (The
// driver's own Decimal path truncated the first and stored the second
// past the type's precision; the stage rejects both, so reaching here is
// a bug, like a date outside Date.)
var ErrNAVNotStorable = errors.New("NAV not exactly a Decimal(18, 8)")

const navScale = 8

var (
	pow10      [19]int64 // 10^0 .. 10^18
	maxNAVBig  = new(big.Int).SetInt64(1e18)
	errNAVDecs = fmt.Errorf("more than %d decimals", navScale)
	errNAVBig  = errors.New("10^10 or more in magnitude")
)

func init() {
	pow10[0] = 1
	for i := 1; i < len(pow10); i++ {
		pow10[i] = pow10[i-1] * 10
	}
}

// navUnits is d in units of 10^-8, exactly; an error when Decimal(18, 8)
// cannot hold d (|units| < 10^18).
func navUnits(d decimal.Decimal) (int64, error) {
	// The common case without big.Int: a coefficient of up to 18 digits
	// (so it fits an int64) and an exponent near the scale.
	digits, exp := int64(d.NumDigits()), int64(d.Exponent())
	switch {
	case d.IsZero():
		return 0, nil
	case digits+exp > 10: // |d| >= 10^10; and Shift below sees no exponent near int32's ends
		return 0, errNAVBig
	case exp < -navScale-digits: // a coefficient below 10^digits is no multiple of 10^(-8-exp): not whole units
		return 0, errNAVDecs
	}
	if digits <= 18 {
		c, k := d.CoefficientInt64(), int32(exp)+navScale
		switch {
		case k >= 0 && k <= 18:
			if lim := pow10[18] / pow10[k]; c >= lim || c <= -lim {
				return 0, errNAVBig
			}
			return c * pow10[k], nil
		case k < 0 && k >= -18:
			if c%pow10[-k] != 0 {
				return 0, errNAVDecs
			}
			return c / pow10[-k], nil
		}
	}
	s := d.Shift(navScale)
	if !s.IsInteger() {
		return 0, errNAVDecs
	}
	u := s.BigInt()
	if u.CmpAbs(maxNAVBig) >= 0 {
		return 0, errNAVBig
	}
	return u.Int64(), nil
}

// civilDays is d as days since 1970-01-01 (Date's encoding), the day
// d.Time() is, by integer arithmetic (days from civil, H. Hinnant): no
// time.Date a row.
func civilDays(d fund.Date) int {
	y, m := d.Year, int(d.Month)
	if m < 1 || m > 12 { // not normalised: time.Date's way (midnight UTC, so exact)
		return int(d.Time().Unix() / 86400)
	}
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d.Day - 1 // linear in Day: an overflowing day normalises as time.Date does
	return era*146097 + yoe*365 + yoe/4 - yoe/100 + doy - 719468
}

// dateOfDay is the Date of a day of civilDays.
func dateOfDay(day uint16) fund.Date {
	return fund.DateOf(epoch.AddDate(0, 0, int(day)))
}

var (
	epoch          = MinDate.Time()
	minDay, maxDay = civilDays(MinDate), civilDays(MaxDate) // 0, 49,674: a uint16
)

// appendRows checks items (dates, NAVs) and appends their rows to rows, the
// strings into t. On an error rows is given back as it was (t may hold
// strings no row names).
func appendRows(rows []navRow, t *strTable, items []fund.NAVLine) ([]navRow, error) {
	start := len(rows)
	rows = growRows(rows, len(items))
	var amc, cat, sha lastID
	var code uint32
	for i := range items {
		n := &items[i]
		day := civilDays(n.Date)
		if day < minDay || day > maxDay {
			return rows[:start], dateOutOfRange(n.Date, "NAV of scheme "+n.SchemeCode, n.From)
		}
		units, err := navUnits(n.NAV)
		if err != nil {
			return rows[:start], fmt.Errorf("clickhouse: NAV %s of scheme %s dated %s (%s line %d): %w: %w",
				n.NAV, n.SchemeCode, n.Date, n.From.File, n.From.Line, ErrNAVNotStorable, err)
		}
		code = t.codeID(code, i > 0, n.SchemeCode)
		rows = append(rows, navRow{nav: units, code: code, amc: amc.of(t, n.AMC), category: cat.of(t, n.Category),
			sha: sha.of(t, n.From.SHA256), line: uint32(n.From.Line), day: uint16(day)})
	}
	return rows, nil
}

// growRows makes room for n more rows: at least doubling, so that the
// backing array of rows held over many batches is copied few times.
func growRows(rows []navRow, n int) []navRow {
	if len(rows)+n <= cap(rows) {
		return rows
	}
	grown := make([]navRow, len(rows), max(2*cap(rows), len(rows)+n, 1024))
	copy(grown, rows)
	return grown
}

// newestDates is each scheme's newest date in rows.
func newestDates(rows []navRow, strs []string) []schemeDate {
	newest := make([]uint32, len(strs)) // day+1 by code index; 0: none
	n := 0
	for i := range rows {
		r := &rows[i]
		if d := uint32(r.day) + 1; d > newest[r.code] {
			if newest[r.code] == 0 {
				n++
			}
			newest[r.code] = d
		}
	}
	out := make([]schemeDate, 0, n)
	for code, d := range newest {
		if d != 0 {
			out = append(out, schemeDate{strs[code], dateOfDay(uint16(d - 1))})
		}
	}
	return out
}

// navColumns are nav_history's columns in the order sendRows names them,
// with the driver's column type each must have: its data is written in
// that type's native encoding.
var navColumns = []struct {
	name string
	ok   func(column.Interface) bool
}{
	{"scheme_code", isString},
	{"nav_date", func(c column.Interface) bool { _, ok := c.(*column.Date); return ok }},
	{"nav", func(c column.Interface) bool {
		d, ok := c.(*column.Decimal)
		return ok && d.Precision() == 18 && d.Scale() == navScale
	}},
	{"amc", isString},
	{"category", isString},
	{"source_sha256", isString},
	{"source_line", func(c column.Interface) bool { _, ok := c.(*column.UInt32); return ok }},
	{"loaded_at", func(c column.Interface) bool { _, ok := c.(*column.DateTime); return ok }},
}

func isString(c column.Interface) bool { _, ok := c.(*column.String); return ok }

// fillColumns fills an insert's empty columns with rows, column by column,
// from their native encoding (navWire) through the driver's own decoders.
// The driver has no typed bulk append for Decimal: each value went through
// two or three big.Int copies, and each row through eight boxed values.
func fillColumns(cols []column.Interface, rows []navRow, strs []string, loaded uint32) error {
	if len(cols) != len(navColumns) {
		return pipelines.Transient(fmt.Errorf("clickhouse: nav_history insert has %d columns, want %d", len(cols), len(navColumns)))
	}
	for i, c := range cols {
		if c.Name() != navColumns[i].name || !navColumns[i].ok(c) || c.Rows() != 0 {
			// The table is not the one this code writes (a migration half
			// done): the server's state, not the rows'.
			return pipelines.Transient(fmt.Errorf("clickhouse: nav_history column %d is %s %s with %d rows, want %s of the type this sink encodes, empty",
				i, c.Name(), c.Type(), c.Rows(), navColumns[i].name))
		}
	}
	r := proto.NewReader(&navWire{rows: rows, strs: strs, loaded: loaded})
	for _, c := range cols {
		// Write checked every row: a failure here is this encoder's or the
		// driver's, never the rows'. Transient: the run fails and is
		// retried, where a permanent error would set each file aside.
		if err := c.Decode(r, len(rows)); err != nil {
			return pipelines.Transient(fmt.Errorf("clickhouse: fill nav_history.%s: %w", c.Name(), err))
		}
		if c.Rows() != len(rows) {
			return pipelines.Transient(fmt.Errorf("clickhouse: fill nav_history.%s: %d rows, want %d", c.Name(), c.Rows(), len(rows)))
		}
	}
	return nil
}

// navWire reads as rows' columns one after the other in ClickHouse's
// native encoding (little-endian fixed width; a string as its uvarint
// length and bytes), encoded straight into the reader's buffer; a cell
// that does not fit waits in buf.
type navWire struct {
	rows     []navRow
	strs     []string
	loaded   uint32 // loaded_at, one for all rows
	col, row int
	buf      []byte
	off      int
}

func (w *navWire) Read(p []byte) (int, error) {
	n := copy(p, w.buf[w.off:])
	w.off += n
	for n < len(p) && w.col < len(navColumns) {
		if w.row == len(w.rows) {
			w.col, w.row = w.col+1, 0
			continue
		}
		b := w.cells(p[n:n:len(p)])
		n += len(b)
		if w.row < len(w.rows) && n < len(p) { // the next cell does not fit: through buf
			w.buf, w.off = w.cell(w.buf[:0], w.row), 0
			w.row++
			k := copy(p[n:], w.buf)
			w.off, n = k, n+k
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// cells appends the current column's cells from w.row on to b while they
// fit its capacity.
func (w *navWire) cells(b []byte) []byte {
	le := binary.LittleEndian
	switch w.col {
	case 1:
		for ; w.row < len(w.rows) && len(b)+2 <= cap(b); w.row++ {
			b = le.AppendUint16(b, w.rows[w.row].day)
		}
	case 2:
		for ; w.row < len(w.rows) && len(b)+8 <= cap(b); w.row++ {
			b = le.AppendUint64(b, uint64(w.rows[w.row].nav))
		}
	case 6:
		for ; w.row < len(w.rows) && len(b)+4 <= cap(b); w.row++ {
			b = le.AppendUint32(b, w.rows[w.row].line)
		}
	case 7:
		for ; w.row < len(w.rows) && len(b)+4 <= cap(b); w.row++ {
			b = le.AppendUint32(b, w.loaded)
		}
	default:
		for ; w.row < len(w.rows); w.row++ {
			s := w.str(w.row)
			if len(b)+binary.MaxVarintLen64+len(s) > cap(b) {
				break
			}
			b = appendStr(b, s)
		}
	}
	return b
}

// cell appends row i's cell of the current column.
func (w *navWire) cell(b []byte, i int) []byte {
	r := &w.rows[i]
	le := binary.LittleEndian
	switch w.col {
	case 1:
		return le.AppendUint16(b, r.day)
	case 2:
		return le.AppendUint64(b, uint64(r.nav))
	case 6:
		return le.AppendUint32(b, r.line)
	case 7:
		return le.AppendUint32(b, w.loaded)
	}
	return appendStr(b, w.str(i))
}

// str is row i's string of the current (string) column.
func (w *navWire) str(i int) string {
	r := &w.rows[i]
	switch w.col {
	case 0:
		return w.strs[r.code]
	case 3:
		return w.strs[r.amc]
	case 4:
		return w.strs[r.category]
	}
	return w.strs[r.sha]
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}
