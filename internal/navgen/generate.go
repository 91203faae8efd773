package navgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// Options shape a generated history.
type Options struct {
	Days     int            // business days (files) to generate, >= 1
	End      fund.Date      // the last business day; zero: the template's business date (no later)
	Seed     uint64         // the same seed gives the same bytes
	Calendar *fund.Calendar // holidays; nil: weekends only
	// NAEvery: about one walked row in NAEvery is written "N.A."; 0 means
	// 5000 (a few a file, as AMFI's own files have), negative means never.
	NAEvery int
}

// Generator writes the history. Its walk only moves forward in time: call
// WriteNAVAll / Records with ascending day indexes, or WriteHistory once.
type Generator struct {
	t      *Template
	opt    Options
	days   []fund.Date
	lag    []int  // per scheme: business days its NAV trails the file's date
	state  []walk // per scheme: the walk's current day and value
	dates  map[int64][]byte
	next   int // the next day index the walk may be asked for
	closed bool

	maxLag   int
	prepared fund.Date   // the file day the dates below are for
	daily    fund.Date   // the date of liquid/overnight rows in that file
	lagged   []fund.Date // [k]: the date of rows k business days behind
	calErr   error       // the first date the calendar does not cover (isBusinessDay)
}

type walk struct{ day, ticks int64 }

// Stats counts what was written.
type Stats struct {
	Files int   `json:"files"`
	Rows  int   `json:"rows"` // data rows, N.A. rows included
	NA    int   `json:"na"`   // rows written N.A.
	Bytes int64 `json:"bytes"`
}

const (
	ppm        = 1_000_000
	tickScale  = 10_000 // 4 decimals
	defaultNA  = 5000
	startSlack = 15 // calendar days before the first file the walk starts (lags, holidays)
)

// New prepares a generator over t.
func New(t *Template, opt Options) (*Generator, error) {
	if opt.Days < 1 {
		return nil, fmt.Errorf("navgen: days must be at least 1, got %d", opt.Days)
	}
	if opt.NAEvery == 0 {
		opt.NAEvery = defaultNA
	}
	end := opt.End
	if end.IsZero() {
		end = t.Business
	}
	if end.After(t.Business) {
		return nil, fmt.Errorf("navgen: end %s is after the template's business date %s: the walk runs back from the template", end, t.Business)
	}
	g := &Generator{t: t, opt: opt, lag: make([]int, len(t.schemes)), state: make([]walk, len(t.schemes)), dates: map[int64][]byte{}}
	for !g.isBusinessDay(end) && g.calErr == nil {
		end = end.AddDays(-1)
	}
	days := make([]fund.Date, opt.Days)
	for i, d := opt.Days-1, end; i >= 0; i-- {
		days[i] = d
		if i > 0 {
			d = g.prevDay(d)
		}
	}
	g.days = days
	if g.calErr != nil {
		return nil, fmt.Errorf("navgen: %w", g.calErr)
	}
	start := dayNumber(days[0]) - startSlack
	for i := range t.schemes {
		s := &t.schemes[i]
		if s.raw != nil {
			continue
		}
		if gap := t.Business.DaysSince(s.anchor); gap >= 0 && gap <= liveWithin && !s.daily {
			// A scheme that trails (a fund of funds publishes the next
			// morning) trails by as many business days every day.
			for d := s.anchor; d.Before(t.Business); d = d.AddDays(1) {
				if g.isBusinessDay(d) {
					g.lag[i]++
				}
			}
			g.maxLag = max(g.maxLag, g.lag[i])
		}
		// Walk back from the template's NAV to the start, so that the walk
		// forward arrives (within rounding) at the real NAV.
		w := walk{day: s.anchorDay, ticks: s.anchorTicks}
		for w.day > start {
			w.ticks = unstep(w.ticks, g.move(i, w.day))
			w.day--
		}
		g.state[i] = w
	}
	if g.calErr != nil {
		return nil, fmt.Errorf("navgen: %w", g.calErr)
	}
	return g, nil
}

// isBusinessDay, nextDay and prevDay ask the calendar, keeping the first date it
// does not cover in g.calErr: New and the writers return it, so no file is
// written with unknown days counted as business days.
func (g *Generator) isBusinessDay(d fund.Date) bool {
	ok, err := g.opt.Calendar.IsBusinessDay(d)
	g.keep(err)
	return ok
}

func (g *Generator) nextDay(d fund.Date) fund.Date {
	n, err := g.opt.Calendar.NextBusinessDay(d)
	g.keep(err)
	return n
}

func (g *Generator) prevDay(d fund.Date) fund.Date {
	p, err := g.opt.Calendar.PrevBusinessDay(d)
	g.keep(err)
	return p
}

func (g *Generator) keep(err error) {
	if g.calErr == nil {
		g.calErr = err
	}
}

// Days returns the business days generated, in order.
func (g *Generator) Days() []fund.Date { return g.days }

// move is the walk's relative change on calendar day `day`, in ppm: the
// class drift plus noise that is nearly normal (the sum of four uniform
// 16-bit draws, Irwin-Hall), with a standard deviation of sigma ppm.
func (g *Generator) move(i int, day int64) int64 {
	c := g.t.schemes[i].cls
	h := mix(g.opt.Seed, g.t.schemes[i].walkID, uint64(day))
	sum := int64(h&0xffff) + int64(h>>16&0xffff) + int64(h>>32&0xffff) + int64(h>>48&0xffff)
	const mean, sd = 4 * 65535 / 2, 37837  // sd of the sum: 65536*sqrt(4/12)
	return c.drift + (sum-mean)*c.sigma/sd // truncates toward zero
}

// mix is a counter-based random number (splitmix64's finaliser over the
// seed, the scheme and the day), so any day's move is known without the
// days before it.
func mix(seed, a, b uint64) uint64 {
	z := seed ^ (a+1)*0x9e3779b97f4a7c15 ^ (b+1)*0xbf58476d1ce4e5b9
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// step applies a move of r ppm, rounding half up; a NAV never falls below
// one tick (0.0001).
func step(ticks, r int64) int64 { return max(1, (ticks*(ppm+r)+ppm/2)/ppm) }

// unstep undoes a move of r ppm (the walk run backwards), rounding half up.
func unstep(ticks, r int64) int64 {
	d := ppm + r
	return max(1, (ticks*ppm+d/2)/d)
}

// valueAt returns scheme i's walked NAV on the calendar day `day`, moving
// its walk forward to it.
func (g *Generator) valueAt(i int, day int64) int64 {
	w := &g.state[i]
	for w.day < day {
		w.day++
		w.ticks = step(w.ticks, g.move(i, w.day))
	}
	return w.ticks
}

// row is one generated row.
type row struct {
	s     *scheme
	date  fund.Date
	ticks int64
	text  []byte // NAV as written, for stale rows; nil: format ticks
	na    bool
}

// rowFor returns scheme i's row in the NAVAll file of day d, or ok=false
// for a template row that is copied verbatim.
func (g *Generator) rowFor(i int, d fund.Date) (row, bool) {
	s := &g.t.schemes[i]
	if s.raw != nil {
		return row{s: s}, false
	}
	g.prepare(d)
	if s.daily {
		return g.at(i, g.daily), true
	}
	return g.at(i, g.lagged[g.lag[i]]), true
}

// prepare works out, once per file, the dates its rows carry.
func (g *Generator) prepare(d fund.Date) {
	if g.prepared == d {
		return
	}
	g.prepared = d
	// Liquid and overnight funds publish the NAVs of the coming weekend
	// and holidays with the last business day's file.
	g.daily = g.nextDay(d).AddDays(-1)
	if lim := d.AddDays(amfi.FutureLimitDays); g.daily.After(lim) {
		g.daily = lim
	}
	g.lagged = append(g.lagged[:0], d)
	for k := 1; k <= g.maxLag; k++ {
		g.lagged = append(g.lagged, g.prevDay(g.lagged[k-1]))
	}
}

// at returns scheme i's row dated x: the template's own row once x reaches
// it (a stale scheme stays stale), else the walk.
func (g *Generator) at(i int, x fund.Date) row {
	s := &g.t.schemes[i]
	day := dayNumber(x)
	if day >= s.anchorDay {
		return row{s: s, date: s.anchor, ticks: s.anchorTicks, text: s.anchorText}
	}
	r := row{s: s, date: x, ticks: g.valueAt(i, day)}
	if g.opt.NAEvery > 0 && mix(g.opt.Seed^0x4e41, uint64(i), uint64(day))%uint64(g.opt.NAEvery) == 0 {
		r.na = true
	}
	return r
}

func (g *Generator) checkDay(i int) error {
	if g.closed {
		return errors.New("navgen: WriteHistory used this generator")
	}
	if i < g.next || i >= len(g.days) {
		return fmt.Errorf("navgen: day %d out of order (next is %d of %d)", i, g.next, len(g.days))
	}
	g.next = i + 1
	return nil
}

// Header6 is the header line of the 6-field NAVAll layout.
const Header6 = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date"

// HeaderHistory is the header line of the historical NAV report.
const HeaderHistory = "Scheme Code;Scheme Name;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Repurchase Price;Sale Price;Date"

// WriteNAVAll writes the NAVAll file of day index i (see Days).
func (g *Generator) WriteNAVAll(w io.Writer, i int) (Stats, error) {
	if err := g.checkDay(i); err != nil {
		return Stats{}, err
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	st := Stats{Files: 1}
	buf := make([]byte, 0, 512)
	bw.WriteString(Header6 + "\r\n")
	d := g.days[i]
	for _, l := range g.t.lines {
		buf = buf[:0]
		if l.row < 0 {
			buf = append(buf, l.text...)
		} else if r, ok := g.rowFor(l.row, d); !ok {
			buf = g.appendRaw(buf, r.s, d)
			st.Rows++
		} else {
			buf = g.appendNAVAll(buf, r)
			st.Rows++
			if r.na {
				st.NA++
			}
		}
		buf = append(buf, '\r', '\n')
		if _, err := bw.Write(buf); err != nil {
			return st, err
		}
	}
	if g.calErr != nil {
		return st, fmt.Errorf("navgen: %w", g.calErr)
	}
	err := bw.Flush()
	st.Bytes = cw.n
	return st, err
}

// Records calls fn with every NAV of day index i's NAVAll file that parses
// (N.A. rows and verbatim template rows that do not parse are left out),
// in file order: the same values WriteNAVAll writes.
func (g *Generator) Records(i int, fn func(fund.NAVRecord)) error {
	if err := g.checkDay(i); err != nil {
		return err
	}
	d := g.days[i]
	for j := range g.t.schemes {
		r, ok := g.rowFor(j, d)
		if !ok || r.na {
			continue
		}
		s := r.s
		fn(fund.NAVRecord{SchemeCode: s.code, SchemeName: s.name, ISINGrowth: s.isinG, ISINReinvest: s.isinR,
			Category: s.category, SchemeType: s.typ, AMC: s.amc, NAV: decimal.New(r.ticks, -fund.NAVScale), Date: r.date})
	}
	if g.calErr != nil {
		return fmt.Errorf("navgen: %w", g.calErr)
	}
	return nil
}

// WriteHistory writes one historical NAV report over every calendar day
// from the first business day to the last: business days carry every
// scheme alive that day, weekends and holidays only the liquid and
// overnight schemes. Each day is a run of category and AMC blocks, as the
// report prints them.
func (g *Generator) WriteHistory(w io.Writer) (Stats, error) {
	if g.closed || g.next > 0 {
		return Stats{}, errors.New("navgen: WriteHistory needs a fresh generator")
	}
	g.closed = true
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	st := Stats{Files: 1}
	buf := make([]byte, 0, 512)
	bw.WriteString(HeaderHistory + "\r\n")
	first, last := g.days[0], g.days[len(g.days)-1]
	for x := first; !x.After(last); x = x.AddDays(1) {
		business := g.isBusinessDay(x)
		day := dayNumber(x)
		var typ, cat, amc string
		open := false
		for i := range g.t.schemes {
			s := &g.t.schemes[i]
			if s.raw != nil || day > s.anchorDay || !(business || s.daily) {
				continue
			}
			buf = buf[:0]
			if !open || s.typ != typ || s.category != cat {
				if open {
					buf = append(buf, '\r', '\n')
				}
				typ, cat, amc, open = s.typ, s.category, "", true
				buf = append(buf, s.typ...)
				buf = append(buf, '(')
				buf = append(buf, s.category...)
				buf = append(buf, ")\r\n\r\n"...)
			}
			if s.amc != amc {
				amc = s.amc
				buf = append(buf, s.amc...)
				buf = append(buf, '\r', '\n')
			}
			r := g.at(i, x)
			buf = g.appendHistory(buf, r)
			buf = append(buf, '\r', '\n')
			st.Rows++
			if r.na {
				st.NA++
			}
			if _, err := bw.Write(buf); err != nil {
				return st, err
			}
		}
		if open {
			bw.WriteString("\r\n")
		}
	}
	if g.calErr != nil {
		return st, fmt.Errorf("navgen: %w", g.calErr)
	}
	err := bw.Flush()
	st.Bytes = cw.n
	return st, err
}

// appendRaw writes a template row that does not parse: as it was, or
// re-dated to the file's day.
func (g *Generator) appendRaw(b []byte, s *scheme, d fund.Date) []byte {
	if !s.rawLive {
		return append(b, s.raw...)
	}
	for _, f := range s.fields[:5] {
		b = append(b, f...)
		b = append(b, ';')
	}
	return append(b, g.dateText(d)...)
}

func (g *Generator) appendNAVAll(b []byte, r row) []byte {
	s := r.s
	if s.fields != nil {
		// The template's own fields, spacing and "-" placeholders included.
		for _, f := range s.fields[:4] {
			b = append(b, f...)
			b = append(b, ';')
		}
		b = appendNAV(b, r)
		b = append(b, ';')
		return append(b, g.dateText(r.date)...)
	}
	b = append(b, s.code...)
	b = append(b, ';')
	b = appendISIN(b, s.isinG, "-")
	b = append(b, ';')
	b = appendISIN(b, s.isinR, "-")
	b = append(b, ';')
	b = append(b, s.name...)
	b = append(b, ';')
	b = appendNAV(b, r)
	b = append(b, ';')
	return append(b, g.dateText(r.date)...)
}

func (g *Generator) appendHistory(b []byte, r row) []byte {
	s := r.s
	b = append(b, s.code...)
	b = append(b, ';')
	b = append(b, s.name...)
	b = append(b, ';')
	b = appendISIN(b, s.isinG, "")
	b = append(b, ';')
	b = appendISIN(b, s.isinR, "")
	b = append(b, ';')
	b = appendNAV(b, r)
	b = append(b, ";;;"...)
	return append(b, g.dateText(r.date)...)
}

func appendISIN(b []byte, isin, missing string) []byte {
	if isin == "" {
		return append(b, missing...)
	}
	return append(b, isin...)
}

// appendNAV writes a NAV with exactly four decimals (or as the template
// wrote a stale row, or N.A.).
func appendNAV(b []byte, r row) []byte {
	switch {
	case r.na:
		return append(b, "N.A."...)
	case r.text != nil:
		return append(b, r.text...)
	}
	b = strconv.AppendInt(b, r.ticks/tickScale, 10)
	frac := r.ticks % tickScale
	return append(b, '.', byte('0'+frac/1000), byte('0'+frac/100%10), byte('0'+frac/10%10), byte('0'+frac%10))
}

func (g *Generator) dateText(d fund.Date) []byte {
	n := dayNumber(d)
	if t, ok := g.dates[n]; ok {
		return t
	}
	t := []byte(d.DMY())
	g.dates[n] = t
	return t
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// PublishedAt is when a generated file for business day d is stamped as
// written: 23:00 IST, AMFI's publication deadline. A folder of generated
// files therefore sorts by modification time in date order.
func PublishedAt(d fund.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 23, 0, 0, 0, fund.IST())
}

// NAVAllName is the file name of the NAVAll file of day d.
func NAVAllName(d fund.Date) string { return "NAVAll_" + d.String() + ".txt" }

// WriteNAVAllDir writes one NAVAll file per business day into dir, each
// stamped with PublishedAt. progress, if set, is called after each file.
func (g *Generator) WriteNAVAllDir(dir string, progress func(done int, st Stats)) (Stats, error) {
	var total Stats
	for i, d := range g.days {
		path := filepath.Join(dir, NAVAllName(d))
		st, err := writeFile(path, func(w io.Writer) (Stats, error) { return g.WriteNAVAll(w, i) })
		if err != nil {
			return total, err
		}
		if err := os.Chtimes(path, PublishedAt(d), PublishedAt(d)); err != nil {
			return total, err
		}
		total.Files++
		total.Rows += st.Rows
		total.NA += st.NA
		total.Bytes += st.Bytes
		if progress != nil {
			progress(i+1, total)
		}
	}
	return total, nil
}

// HistoryName is the file name of a history report over [from, to].
func HistoryName(from, to fund.Date) string {
	return "NAVHistory_" + from.String() + "_" + to.String() + ".txt"
}

// WriteHistoryFile writes the history report into dir and returns its path.
func (g *Generator) WriteHistoryFile(dir string) (string, Stats, error) {
	from, to := g.days[0], g.days[len(g.days)-1]
	path := filepath.Join(dir, HistoryName(from, to))
	st, err := writeFile(path, g.WriteHistory)
	if err != nil {
		return path, st, err
	}
	return path, st, os.Chtimes(path, PublishedAt(to), PublishedAt(to))
}

// writeFile writes through a temporary name and renames, so a reader of the
// folder never sees half a file.
func writeFile(path string, write func(io.Writer) (Stats, error)) (Stats, error) {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return Stats{}, err
	}
	st, err := write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return st, fmt.Errorf("navgen: write %s: %w", path, err)
	}
	return st, os.Rename(tmp, path)
}
