// Package nav is the typed stage of nav-ingest: it decodes AMFI NAV files
// into items with their file position, and validates them (positive, dated,
// not in the future, no implausible jump from the scheme's previous NAV)
// before they are published.
package nav

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// Item is one parsed data line of a NAV file.
type Item struct {
	// Row is the parsed row, never nil. It is a pointer (to the row where
	// Decode keeps it, in chunks, or to Reread's) because an item is
	// copied from the decoder to a batch and into the stage, and a row is
	// most of its size: a 448-byte item was copied and zeroed per row
	// (issue 15).
	Row      *amfi.Row
	From     fund.Origin
	Business fund.Date // the file's business date (see amfi.BusinessDateOf)
	Header   string    // the file's header line: how to read Row.Raw again
	Layout   amfi.Layout
	// FirstSaid is set on a row whose (scheme, date) an earlier line of the
	// same file gave with different values: that earlier record, and its
	// line. The stage quarantines the later row (ReasonDuplicateConflict).
	FirstSaid *fund.NAVLine
}

// Origin returns the item's file position and raw line.
func (it Item) Origin() (pipelines.Position, []byte) { return pipelines.Position(it.From), it.Row.Raw }

// replayContext is what a quarantined row needs besides its raw bytes to be
// read again without its file: the header, the block and AMC lines above
// it, and the file's business date (for the future-date rule).
type replayContext struct {
	Header     string `json:"header"`
	SchemeType string `json:"scheme_type,omitempty"`
	Category   string `json:"category,omitempty"`
	AMC        string `json:"amc,omitempty"`
	Business   string `json:"business_date,omitempty"`
	// Lossy: a line above the row was not storable as it was (a NUL byte,
	// not UTF-8) and was stored with U+FFFD in its place; the row cannot be
	// read again as it was, so it is never replayed.
	Lossy bool `json:"lossy,omitempty"`
}

// ReplayContext is stored with a quarantined row (pipelines.Contextual).
func (it Item) ReplayContext() []byte {
	c := replayContext{Header: it.Header, SchemeType: it.Row.Record.SchemeType, Category: it.Row.Record.Category, AMC: it.Row.Record.AMC}
	if !it.Business.IsZero() {
		c.Business = it.Business.String()
	}
	// Postgres' jsonb cannot hold \u0000 (json.Marshal already turns
	// invalid UTF-8 into U+FFFD): a row quarantined for bad_encoding must
	// still be storable. Such a row cannot be replayed as it was anyway.
	for _, f := range []*string{&c.Header, &c.SchemeType, &c.Category, &c.AMC} {
		if strings.IndexByte(*f, 0) >= 0 || !utf8.ValidString(*f) {
			c.Lossy = true
			*f = strings.ReplaceAll(strings.ToValidUTF8(*f, "\uFFFD"), "\x00", "\uFFFD")
		}
	}
	b, _ := json.Marshal(c) // strings only: cannot fail
	return b
}

// Reread reads a quarantined row again from its raw bytes and the context
// ReplayContext stored, as the parser would now read it in its file: a
// small file of the header, the block and AMC lines and the row, parsed by
// the same parser. The item keeps the row's original position.
func Reread(raw, context []byte, from fund.Origin) (Item, error) {
	var c replayContext
	if err := json.Unmarshal(context, &c); err != nil || c.Header == "" {
		return Item{}, fmt.Errorf("nav: no replay context for %s line %d (quarantined before contexts were kept?)", from.File, from.Line)
	}
	if c.Lossy {
		return Item{}, fmt.Errorf("nav: %s line %d cannot be read again as it was: a line above it was not UTF-8 or had a NUL byte (fix the file and load it again)", from.File, from.Line)
	}
	var b bytes.Buffer
	b.WriteString(c.Header + "\n")
	if c.SchemeType != "" {
		b.WriteString(c.SchemeType + "(" + c.Category + ")\n")
	}
	if c.AMC != "" {
		b.WriteString(c.AMC + "\n")
	}
	b.Write(raw)
	b.WriteString("\n")
	p, err := amfi.NewParser(&b)
	if err != nil {
		return Item{}, fmt.Errorf("nav: replay %s line %d: %w", from.File, from.Line, err)
	}
	row, err := p.Next()
	if err != nil {
		return Item{}, fmt.Errorf("nav: replay %s line %d: not a data row (%v)", from.File, from.Line, err)
	}
	row.Line = from.Line
	it := Item{Row: &row, From: from, Header: c.Header}
	if c.Business != "" {
		if it.Business, err = fund.ParseISODate(c.Business); err != nil {
			return Item{}, fmt.Errorf("nav: replay context of %s line %d: %w", from.File, from.Line, err)
		}
	}
	return it, nil
}

// Decode is the feed decoder for AMFI NAV files. It finds the file's
// business date and the (scheme, date) keys said more than once in a first
// pass and streams the rows in a second. A file of at most OnePassBytes (a
// daily NAVAll file is under 2 MB) is parsed once: the first pass keeps
// its rows and the second hands them on. A larger seekable input (a
// history report of millions of rows, in the feed's spooled file) is
// parsed twice from disk, so its rows never sit in memory; a larger
// input that cannot seek is read into memory first. A body that is not a NAV file (an
// HTML error page, an unknown header, no rows at all) rejects the file as a
// whole.
//
// A (scheme, date) said again with the same values is a no-op: the repeat is
// not emitted. Said again with other values, the later row carries
// FirstSaid and the stage quarantines it, so that every store keeps the
// first one.
func Decode(r io.Reader, file fund.Origin) (func() (Item, error), error) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, pipelines.Transient(err)
		}
		rs = bytes.NewReader(data)
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	p, err := amfi.NewParser(rs)
	if err != nil {
		if errors.Is(err, amfi.ErrNotNAVFile) {
			return nil, fmt.Errorf("%w: %w", pipelines.ErrRejectFile, err)
		}
		return nil, err
	}
	counts := map[fund.Date]int{}
	rows := 0
	var kept rowQueue // the rows of a file parsed once
	once := end-start <= onePassBytes
	seen := newKeySet(end - start)
	suspects := map[navKey]*fund.NAVLine{} // keys seen more than once (and the set's rare false positives)
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		rows++
		if once && rows > onePassRows {
			// short lines (a poison file of ";" lines: 4M rows, 1.4 GB kept
			// in 8 MB) would grow the kept rows far past the file's size
			once, kept = false, rowQueue{}
		}
		if once {
			kept.push(row)
		}
		if row.Reason == "" {
			counts[row.Record.Date]++
			k := navKey{row.Record.SchemeCode, row.Record.Date}
			if seen.add(k) {
				suspects[k] = nil
			}
		}
	}
	if rows == 0 {
		return nil, fmt.Errorf("%w: %s has an AMFI header but no NAV rows", pipelines.ErrRejectFile, file.File)
	}
	business := amfi.BusinessDateOf(p.Layout(), counts)
	header, layout := p.Header(), p.Layout()
	next := kept.pop
	if !once {
		if _, err := rs.Seek(start, io.SeekStart); err != nil {
			return nil, err
		}
		if p, err = amfi.NewParser(rs); err != nil {
			return nil, err
		}
		var chunk []amfi.Row // rows handed out from chunks, one allocation per rowChunk rows
		next = func() (*amfi.Row, error) {
			row, err := p.Next()
			if err != nil {
				return nil, err
			}
			if len(chunk) == cap(chunk) {
				chunk = make([]amfi.Row, 0, rowChunk)
			}
			chunk = append(chunk, row)
			return &chunk[len(chunk)-1], nil
		}
	}
	return func() (Item, error) {
		for {
			row, err := next()
			if err != nil {
				return Item{}, err
			}
			from := file
			from.Line = row.Line
			it := Item{Row: row, From: from, Business: business, Header: header, Layout: layout}
			if row.Reason == "" && len(suspects) > 0 {
				k := navKey{row.Record.SchemeCode, row.Record.Date}
				if first, ok := suspects[k]; ok {
					switch {
					case first == nil:
						suspects[k] = &fund.NAVLine{NAVRecord: row.Record, From: from}
					case sameValues(first.NAVRecord, row.Record):
						continue // an identical repeat: nothing to do
					default:
						it.FirstSaid = first
					}
				}
			}
			return it, nil
		}
	}, nil
}

// OnePassBytes is the largest file Decode parses once, keeping its rows
// between its two passes (about four times the file's size in memory);
// larger files are parsed twice.
const OnePassBytes = 8 << 20

var onePassBytes int64 = OnePassBytes // tests set 0 to parse twice

// OnePassRows bounds the rows kept whatever the file's size: a real NAVAll
// line is about 95 bytes (18k rows in 1.6 MB), so 8 MB of them fit; a file
// of more rows drops what it kept and is parsed twice.
const OnePassRows = 100_000

var onePassRows = OnePassRows // tests lower it

// rowQueue keeps a file's rows between Decode's passes in chunks, never
// copied as a growing slice would be (a row is a few hundred bytes). The
// items point into the chunks: a chunk lives as long as an item of it.
type rowQueue struct {
	chunks [][]amfi.Row
	head   int // the next row to pop, in chunks[0]
}

const rowChunk = 1024

func (q *rowQueue) push(r amfi.Row) {
	if n := len(q.chunks); n == 0 || len(q.chunks[n-1]) == rowChunk {
		q.chunks = append(q.chunks, make([]amfi.Row, 0, rowChunk))
	}
	last := &q.chunks[len(q.chunks)-1]
	*last = append(*last, r)
}

// pop hands on the next row (io.EOF after the last) and lets go of each
// chunk handed on.
func (q *rowQueue) pop() (*amfi.Row, error) {
	for len(q.chunks) > 0 && q.head == len(q.chunks[0]) {
		q.chunks[0] = nil
		q.chunks, q.head = q.chunks[1:], 0
	}
	if len(q.chunks) == 0 {
		return nil, io.EOF
	}
	r := &q.chunks[0][q.head]
	q.head++
	return r, nil
}

// navKey is what a NAV is stored under in every store.
type navKey struct {
	code string
	date fund.Date
}

// sameValues reports whether two rows for one (scheme, date) say the same.
func sameValues(a, b fund.NAVRecord) bool {
	nullEq := func(x, y decimal.NullDecimal) bool {
		return x.Valid == y.Valid && (!x.Valid || x.Decimal.Equal(y.Decimal))
	}
	return a.NAV.Equal(b.NAV) && nullEq(a.Repurchase, b.Repurchase) && nullEq(a.Sale, b.Sale) &&
		a.SchemeName == b.SchemeName && a.ISINGrowth == b.ISINGrowth && a.ISINReinvest == b.ISINReinvest &&
		a.Plan == b.Plan && a.Option == b.Option && a.Category == b.Category && a.SchemeType == b.SchemeType && a.AMC == b.AMC
}

// keySet is a Bloom filter of navKeys: it finds the few keys a file says
// twice in memory of a 32nd of the file's size (a bit per 4 bytes: 13 bits and
// under 0.5% false positives for the shortest real rows of ~55 bytes), not
// a map entry per row. A false positive only makes a key a suspect whose
// first row the second pass keeps.
type keySet struct{ bits []uint64 }

func newKeySet(size int64) *keySet {
	n := int64(1) << 16 // bits
	for n < size/4 && n < 1<<34 {
		n <<= 1
	}
	return &keySet{bits: make([]uint64, n/64)}
}

// add adds k and reports whether it may have been there before.
func (s *keySet) add(k navKey) bool {
	h := fnv.New64a()
	h.Write([]byte(k.code))
	h.Write([]byte{byte(k.date.Year >> 8), byte(k.date.Year), byte(k.date.Month), byte(k.date.Day)})
	sum := h.Sum64()
	h1, h2 := sum&0xffffffff, sum>>32|1
	m := uint64(len(s.bits) * 64)
	had := true
	for i := uint64(0); i < 7; i++ {
		bit := (h1 + i*h2) % m
		w, mask := bit/64, uint64(1)<<(bit%64)
		if s.bits[w]&mask == 0 {
			had = false
			s.bits[w] |= mask
		}
	}
	return had
}

// Thresholds are the largest relative NAV moves from the previous NAV that
// publish without review, by kind of scheme.
type Thresholds struct {
	Liquid decimal.Decimal // liquid, overnight and money-market schemes
	Debt   decimal.Decimal // other debt schemes
	Other  decimal.Decimal // equity, hybrid, index, FoF, ...
	// MaxGapDays: the jump check compares only with a previous NAV at most
	// this many days older; after a long gap a large move is plausible.
	MaxGapDays int
}

// DefaultThresholds: a liquid fund moves a few basis points a day, a debt
// fund rarely more than a couple of percent, an equity fund fell 13% on the
// worst day of March 2020.
var DefaultThresholds = Thresholds{
	Liquid:     decimal.RequireFromString("0.02"),
	Debt:       decimal.RequireFromString("0.10"),
	Other:      decimal.RequireFromString("0.25"),
	MaxGapDays: 10,
}

// For returns the threshold of a category.
func (t Thresholds) For(category string) decimal.Decimal {
	c := strings.ToLower(category)
	switch {
	case strings.Contains(c, "liquid"), strings.Contains(c, "overnight"), strings.Contains(c, "money market"):
		return t.Liquid
	case strings.Contains(c, "debt"), strings.Contains(c, "income"), strings.Contains(c, "gilt"), strings.Contains(c, "bond"):
		return t.Debt
	}
	return t.Other
}

// Validator checks items against the rules and the schemes' previous NAVs.
// It is used by one goroutine (the engine's transformer) and learns each
// NAV it passes, so a multi-file backfill compares each day with the last.
//
// It is the one place that decides whether a row can be stored: a row that
// any store (Postgres, ClickHouse, Kafka) could not hold exactly is
// quarantined here, before any sink sees it, so every store gets the same
// rows. The limits come from the column types (see Limits).
type Validator struct {
	// prev is each scheme's latest NAV, at index[code]: one map lookup a
	// row for the jump check and its update.
	index      map[string]int
	prev       []fund.DatedNAV
	thresholds Thresholds
	limits     limitCache
	clock      dayCache
	future     futureCache
	// Now is the clock of the future-date rule (default time.Now): no row
	// may be dated after today in IST plus FutureDays.
	Now        func() time.Time
	FutureDays int // default amfi.FutureLimitDays
	// Stored are the stores' views of what they hold: a valid row that
	// every one of them holds as it is (a stale NAV published again) is
	// skipped (pipelines.ErrStored), so no store sees it. None: nothing
	// is skipped.
	Stored []Holder
}

// Holder is a store's view of what it holds: whether it holds a NAV
// exactly as rec says it (the sinks keep it current as they write).
type Holder interface {
	Holds(rec fund.NAVRecord) bool
}

// NewValidator starts from the schemes' latest NAVs (from nav_latest). The
// validator keeps its own copy: it learns each NAV it passes, and the
// caller's map stays as it was given.
func NewValidator(latest map[string]fund.DatedNAV, t Thresholds) *Validator {
	v := &Validator{index: make(map[string]int, len(latest)), prev: make([]fund.DatedNAV, 0, len(latest)),
		thresholds: t, Now: time.Now, FutureDays: amfi.FutureLimitDays}
	for code, l := range latest {
		v.index[code] = len(v.prev)
		v.prev = append(v.prev, l)
	}
	return v
}

// Reasons a validator quarantines a row for, beyond the parser's.
const (
	ReasonNAVJump           = "nav_jump"               // held for review: moved more than the category allows
	ReasonNAVPrecision      = "nav_precision"          // more than 8 decimals: more than storage keeps exactly
	ReasonNAVOutOfRange     = "nav_out_of_range"       // NAV, repurchase or sale price too large for the columns
	ReasonDateOutOfRange    = "date_out_of_range"      // dated before MinNAVDate
	ReasonBadEncoding       = "bad_encoding"           // a text field is not UTF-8 or holds a NUL byte
	ReasonDuplicateConflict = "duplicate_key_conflict" // the file gave this (scheme, date) earlier with other values
)

// Reasons are every reason a NAV row is quarantined for: the parser's and
// the validator's (TestReasonsListsEveryReasonConstant reads the constants
// from the source). `fundflow quarantine list --reason` checks against it.
var Reasons = []string{
	amfi.ReasonNAVNotAvailable, amfi.ReasonBadNAV, amfi.ReasonBadDate, amfi.ReasonBadFieldCount,
	amfi.ReasonMissingSchemeCode, amfi.ReasonFutureDate, amfi.ReasonLineTooLong,
	ReasonNAVJump, ReasonNAVPrecision, ReasonNAVOutOfRange, ReasonDateOutOfRange, ReasonBadEncoding, ReasonDuplicateConflict,
}

// The stores' limits, derived from their column types in one place:
//
//	Postgres   navs.nav, navs.repurchase, navs.sale, nav_latest.nav  numeric(18,8)
//	ClickHouse nav_history.nav                                       Decimal(18, 8)
//	Postgres   text columns: UTF-8, no NUL byte (ClickHouse's String takes any bytes, so it is the narrower store that decides)
//	ClickHouse nav_history.nav_date                                  Date: 1970-01-01 .. 2105-12-31 (on 18.16)
//
// TestNAVLimitsMatchTheColumns reads the column types back from both
// databases.
const (
	NAVPrecision   = 18 // digits in all
	MaxNAVDecimals = 8  // digits after the point
)

// MaxNAVExclusive is the smallest NAV the columns cannot hold: 10^(18-8).
var MaxNAVExclusive = decimal.New(1, NAVPrecision-MaxNAVDecimals)

// roundsToMax is the smallest value that rounds (half away from zero, as
// Decimal.Round does) to MaxNAVExclusive at MaxNAVDecimals places: half a
// unit of the last place below it. Comparing with it spares a Round per
// price of every row.
var roundsToMax = MaxNAVExclusive.Sub(decimal.New(5, -(MaxNAVDecimals + 1)))

// MinNAVDate is the earliest NAV date accepted: AMFI's NAVs begin in the
// 1990s, and anything earlier is a typo. It is well inside ClickHouse's
// Date range, which the future-date window keeps the other end of.
var MinNAVDate = fund.NewDate(1990, 1, 1)

// Today is the business date now: the date in IST.
func Today(now time.Time) fund.Date { return fund.DateOf(now.In(fund.IST())) }

// Stage validates one item.
func (v *Validator) Stage(ctx context.Context, it Item) (fund.NAVLine, error) {
	row := it.Row
	if row.Reason != "" {
		return fund.NAVLine{}, &pipelines.RejectError{Reason: row.Reason, Detail: row.Detail}
	}
	rec := &row.Record
	if err := storable(rec); err != nil {
		return fund.NAVLine{}, err
	}
	if err := v.dated(rec.Date, it.Business); err != nil {
		return fund.NAVLine{}, err
	}
	if f := it.FirstSaid; f != nil {
		return fund.NAVLine{}, pipelines.Reject(ReasonDuplicateConflict, "scheme %s on %s was given at line %d with NAV %s; this line says %s (the first one is kept)",
			rec.SchemeCode, rec.Date, f.From.Line, f.NAV, rec.NAV)
	}
	if v.storedEverywhere(*rec) {
		return fund.NAVLine{}, pipelines.ErrStored
	}
	if i, ok := v.index[rec.SchemeCode]; !ok {
		v.index[rec.SchemeCode] = len(v.prev)
		v.prev = append(v.prev, fund.DatedNAV{NAV: rec.NAV, Date: rec.Date})
	} else if p := &v.prev[i]; after(rec.Date, p.Date) {
		if rec.Date.DaysSince(p.Date) <= v.thresholds.MaxGapDays {
			if l := v.limits.of(v.thresholds, rec.Category); l.exceeded(rec.NAV, p.NAV) {
				move := jumpMove(rec.NAV, p.NAV)
				return fund.NAVLine{}, pipelines.Reject(ReasonNAVJump, "NAV %s on %s moved %s%% from %s on %s; the limit for %q is %s%%",
					rec.NAV, rec.Date, move.Mul(decimal.NewFromInt(100)).StringFixed(2), p.NAV, p.Date, rec.Category, l.limit.Mul(decimal.NewFromInt(100)).String())
			}
		}
		*p = fund.DatedNAV{NAV: rec.NAV, Date: rec.Date}
	}
	return fund.NAVLine{NAVRecord: *rec, From: it.From}, nil
}

func (v *Validator) storedEverywhere(rec fund.NAVRecord) bool {
	for _, h := range v.Stored {
		if !h.Holds(rec) {
			return false
		}
	}
	return len(v.Stored) > 0
}

// dated applies the date rules: not before MinNAVDate, not more than
// amfi.FutureLimitDays after the file's business date, and not more than
// FutureDays after today (IST) by the clock, whatever the file says.
func (v *Validator) dated(d, business fund.Date) error {
	if before(d, MinNAVDate) {
		return pipelines.Reject(ReasonDateOutOfRange, "dated %s, before %s: no NAV is that old", d, MinNAVDate)
	}
	if v.future.isFuture(d, business) {
		return pipelines.Reject(amfi.ReasonFutureDate, "dated %s, more than %d days after the file's business date %s",
			d, amfi.FutureLimitDays, business)
	}
	now := v.Now
	if now == nil {
		now = time.Now
	}
	if today, last := v.clock.today(now(), v.FutureDays); after(d, last) {
		return pipelines.Reject(amfi.ReasonFutureDate, "dated %s, more than %d days after today (%s in IST)", d, v.FutureDays, today)
	}
	return nil
}

// storable checks what the stores can hold: NAV and prices within
// numeric(18,8), every text field UTF-8 without NUL bytes.
func storable(rec *fund.NAVRecord) error {
	if -rec.NAV.Exponent() > MaxNAVDecimals && !rec.NAV.Equal(rec.NAV.Round(MaxNAVDecimals)) {
		return pipelines.Reject(ReasonNAVPrecision, "NAV %s has more than %d decimals", rec.NAV, MaxNAVDecimals)
	}
	if !fitsNAVColumns(rec.NAV) || (rec.Repurchase.Valid && !fitsNAVColumns(rec.Repurchase.Decimal)) || (rec.Sale.Valid && !fitsNAVColumns(rec.Sale.Decimal)) {
		return outOfRange(rec)
	}
	if plainText(rec.SchemeCode) && plainText(rec.SchemeName) && plainText(rec.ISINGrowth) && plainText(rec.ISINReinvest) &&
		plainText(rec.Plan) && plainText(rec.Option) && plainText(rec.Category) && plainText(rec.SchemeType) && plainText(rec.AMC) {
		return nil
	}
	return badEncoding(rec)
}

// outOfRange names the first price of rec the NAV columns cannot hold.
func outOfRange(rec *fund.NAVRecord) error {
	for _, f := range []struct {
		name string
		v    decimal.NullDecimal
	}{{"NAV", decimal.NullDecimal{Decimal: rec.NAV, Valid: true}}, {"repurchase price", rec.Repurchase}, {"sale price", rec.Sale}} {
		if f.v.Valid && f.v.Decimal.Abs().GreaterThanOrEqual(roundsToMax) {
			return pipelines.Reject(ReasonNAVOutOfRange, "%s %s does not fit the NAV columns (%d digits, %d after the point: less than %s)",
				f.name, f.v.Decimal, NAVPrecision, MaxNAVDecimals, MaxNAVExclusive)
		}
	}
	return nil
}

// badEncoding names the first text field of rec with a NUL byte or
// not in UTF-8 (nil: none).
func badEncoding(rec *fund.NAVRecord) error {
	for _, f := range []struct{ name, v string }{
		{"scheme code", rec.SchemeCode}, {"scheme name", rec.SchemeName}, {"ISIN", rec.ISINGrowth}, {"reinvestment ISIN", rec.ISINReinvest},
		{"plan", rec.Plan}, {"option", rec.Option}, {"category", rec.Category}, {"scheme type", rec.SchemeType}, {"AMC", rec.AMC},
	} {
		if i := strings.IndexByte(f.v, 0); i >= 0 {
			return pipelines.Reject(ReasonBadEncoding, "%s %q has a NUL byte at byte %d", f.name, f.v, i+1)
		}
		if !utf8.ValidString(f.v) {
			return pipelines.Reject(ReasonBadEncoding, "%s %q is not UTF-8 (a Latin-1 or Windows-1252 byte?)", f.name, f.v)
		}
	}
	return nil
}
