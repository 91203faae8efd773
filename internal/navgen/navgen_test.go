package navgen

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/transforms/amfi"
	"github.com/fundflow/fundflow/transforms/nav"
)

const templateName = "amfi/navall/NAVAll_2026-08-18_last-6col.txt"

func template(t *testing.T) (*Template, []byte) {
	t.Helper()
	data, err := os.ReadFile(testkit.Fixture(t, templateName))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := LoadTemplate(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return tp, data
}

// holidays2026 reads the real calendar file the plain way (one DD-Mon-YYYY
// a line), independently of fund.ParseHolidays.
func holidays2026(t *testing.T) map[string]bool {
	data, err := os.ReadFile(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			d, err := time.Parse("02-Jan-2006", l)
			if err != nil {
				t.Fatal(err)
			}
			out[d.Format("2006-01-02")] = true
		}
	}
	return out
}

func calendar2026(t *testing.T) *fund.Calendar {
	f, err := os.Open(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds, err := fund.ParseHolidays(f)
	if err != nil {
		t.Fatal(err)
	}
	return fund.NewCalendar(ds...)
}

func generate(t *testing.T, opt Options) (map[string][]byte, []fund.Date) {
	t.Helper()
	tp, _ := template(t)
	g, err := New(tp, opt)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for i, d := range g.Days() {
		var b bytes.Buffer
		if _, err := g.WriteNAVAll(&b, i); err != nil {
			t.Fatal(err)
		}
		files[d.String()] = b.Bytes()
	}
	return files, g.Days()
}

// The walk runs back from the template, so the last day's file is the
// template itself, byte for byte.
func TestLastDayIsTheTemplate(t *testing.T) {
	_, data := template(t)
	files, days := generate(t, Options{Days: 3, Seed: 7, Calendar: calendar2026(t)})
	last := days[len(days)-1].String()
	if last != "2026-08-18" {
		t.Fatalf("last day %s", last)
	}
	if !bytes.Equal(files[last], data) {
		t.Fatal("the last generated file differs from the template")
	}
}

// Files exist for business days only: weekdays that are not in the real
// 2026 holiday file.
func TestBusinessDaysOnly(t *testing.T) {
	hol := holidays2026(t)
	var want []string
	for d := time.Date(2026, 8, 18, 0, 0, 0, 0, time.UTC); len(want) < 80; d = d.AddDate(0, 0, -1) {
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday || hol[d.Format("2006-01-02")] {
			continue
		}
		want = append([]string{d.Format("2006-01-02")}, want...)
	}
	dir := t.TempDir()
	tp, _ := template(t)
	g, err := New(tp, Options{Days: 80, Seed: 1, Calendar: calendar2026(t)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := g.WriteNAVAllDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, strings.TrimSuffix(strings.TrimPrefix(e.Name(), "NAVAll_"), ".txt"))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || st.Files != 80 {
		t.Fatalf("files\n got %v\nwant %v", got, want)
	}
	for _, h := range []string{"2026-06-26", "2026-05-28", "2026-05-01"} {
		if _, err := os.Stat(filepath.Join(dir, "NAVAll_"+h+".txt")); err == nil {
			t.Errorf("a file for the holiday %s", h)
		}
	}
	// Stamped at 23:00 IST of their day, so a folder sorts in date order.
	fi, err := os.Stat(filepath.Join(dir, "NAVAll_2026-08-14.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.ModTime().UTC().Format(time.RFC3339); got != "2026-08-14T17:30:00Z" {
		t.Errorf("mtime %s", got)
	}
}

var navRe = regexp.MustCompile(`^\d+\.\d{4}$`)

type line struct {
	code, category, nav, date string
}

// readFile splits a generated 6-field file the plain way: block headers set
// the category, data lines are lines with six ';' fields.
func readFile(t *testing.T, data []byte) []line {
	var out []line
	category := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 0; sc.Scan(); n++ {
		l := strings.TrimRight(sc.Text(), "\r")
		if n == 0 {
			if l != Header6 {
				t.Fatalf("header %q", l)
			}
			continue
		}
		f := strings.Split(l, ";")
		if len(f) != 6 {
			if i := strings.Index(l, "Schemes("); i >= 0 {
				category = l
			}
			continue
		}
		out = append(out, line{f[0], category, strings.TrimSpace(f[4]), f[5]})
	}
	return out
}

// Every file parses as the real 6-field layout with its own date as the
// business date; walked NAVs have exactly four decimals, N.A. rows are
// sprinkled in, and the only other rejects are the template's own.
func TestFilesParseAndNAVsAreExact(t *testing.T) {
	tp, data := template(t)
	tmplRep, err := amfi.Check(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	asWritten := map[line]bool{}
	for _, l := range readFile(t, data) {
		asWritten[l] = true
	}
	files, days := generate(t, Options{Days: 40, Seed: 3, Calendar: calendar2026(t), NAEvery: 200})
	walked, na := 0, 0
	for _, d := range days[:len(days)-1] {
		data := files[d.String()]
		rep, err := amfi.Check(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Layout != amfi.LayoutNAVAll6 || rep.BusinessDate != d.String() || rep.Reasons[amfi.ReasonFutureDate] != 0 ||
			rep.Reasons[amfi.ReasonBadNAV] != tmplRep.Reasons[amfi.ReasonBadNAV] {
			t.Fatalf("%s: report %+v", d, rep)
		}
		lines := readFile(t, data)
		if len(lines) != tp.Schemes() {
			t.Fatalf("%s: %d rows, template has %d", d, len(lines), tp.Schemes())
		}
		current := map[string]bool{}
		for k := 0; k <= amfi.FutureLimitDays; k++ {
			current[d.AddDays(k).DMY()] = true
		}
		for _, l := range lines {
			if !current[l.date] || asWritten[l] {
				continue // stale, trailing, or the template's own row on its own date
			}
			switch {
			case l.nav == "N.A.":
				na++
			case navRe.MatchString(l.nav):
				walked++
			case strings.Trim(l.nav, "0.") == "":
				// the template's own zero NAVs (segregated portfolios), re-dated
			default:
				t.Fatalf("%s: NAV %q of %s is not four decimals", d, l.nav, l.code)
			}
		}
	}
	// NAEvery 200: about 0.5% of walked rows.
	if rate := float64(na) / float64(walked+na); rate < 0.003 || rate > 0.007 {
		t.Errorf("N.A. rate %.4f (%d of %d), want about 0.005", rate, na, walked+na)
	}
}

// Day over day, no scheme moves more than the validator's jump threshold
// for its category, so a generated history loads without nav_jump holds;
// liquid funds move by basis points.
func TestWalkStaysWithinJumpThresholds(t *testing.T) {
	files, days := generate(t, Options{Days: 60, Seed: 11, Calendar: calendar2026(t), NAEvery: -1})
	prev := map[string]decimal.Decimal{}
	hundred := decimal.NewFromInt(100)
	maxLiquid := decimal.Zero
	checked := 0
	for _, d := range days {
		cur := map[string]decimal.Decimal{}
		for _, l := range readFile(t, files[d.String()]) {
			v, err := decimal.NewFromString(strings.TrimSuffix(l.nav, "."))
			if err != nil || !v.IsPositive() {
				continue
			}
			key := l.code + "|" + l.category
			cur[key] = v
			p, ok := prev[key]
			if !ok {
				continue
			}
			move := v.Sub(p).Div(p).Abs()
			if move.GreaterThan(nav.DefaultThresholds.For(l.category)) {
				t.Fatalf("%s %s (%s): %s -> %s moves %s%%", d, l.code, l.category, p, v, move.Mul(hundred).StringFixed(2))
			}
			if c := strings.ToLower(l.category); strings.Contains(c, "liquid") && move.GreaterThan(maxLiquid) {
				maxLiquid = move
			}
			checked++
		}
		prev = cur
	}
	if checked < 100000 {
		t.Fatalf("only %d moves checked", checked)
	}
	if maxLiquid.GreaterThan(decimal.RequireFromString("0.002")) {
		t.Errorf("a liquid fund moved %s%% in a day", maxLiquid.Mul(hundred).StringFixed(3))
	}
}

// A Friday's file carries liquid and overnight NAVs dated the coming
// Sunday (as AMFI's real Friday files do); other live schemes the Friday.
func TestLiquidFundsCarryWeekendDates(t *testing.T) {
	files, _ := generate(t, Options{Days: 5, Seed: 5, Calendar: calendar2026(t)})
	friday := files["2026-08-14"]
	if friday == nil {
		t.Fatal("no file for Friday 2026-08-14")
	}
	liquid, sunday := 0, 0
	for _, l := range readFile(t, friday) {
		c := strings.ToLower(l.category)
		if !strings.Contains(c, "liquid fund") && !strings.Contains(c, "overnight fund") {
			continue
		}
		if l.date == "16-Aug-2026" {
			sunday++
		}
		if l.date == "16-Aug-2026" || l.date == "14-Aug-2026" || l.date == "13-Aug-2026" {
			liquid++
		}
	}
	if sunday == 0 || sunday != liquid {
		t.Fatalf("%d of %d live liquid/overnight rows dated Sunday 16-Aug-2026", sunday, liquid)
	}
}

func TestSeedDecidesTheBytes(t *testing.T) {
	a, _ := generate(t, Options{Days: 2, Seed: 1})
	b, _ := generate(t, Options{Days: 2, Seed: 1})
	c, _ := generate(t, Options{Days: 2, Seed: 2})
	if !bytes.Equal(a["2026-08-17"], b["2026-08-17"]) {
		t.Error("the same seed gave different files")
	}
	if bytes.Equal(a["2026-08-17"], c["2026-08-17"]) {
		t.Error("different seeds gave the same file")
	}
}

// The history report holds, for each business day, the same NAVs as that
// day's NAVAll file (schemes dated that day), and on weekends and holidays
// only liquid and overnight schemes.
func TestHistoryMatchesDailyFiles(t *testing.T) {
	cal := calendar2026(t)
	opt := Options{Days: 12, Seed: 9, Calendar: cal}
	files, days := generate(t, opt)
	tp, _ := template(t)
	g, err := New(tp, opt)
	if err != nil {
		t.Fatal(err)
	}
	var hist bytes.Buffer
	st, err := g.WriteHistory(&hist)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := amfi.Check(bytes.NewReader(hist.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Layout != amfi.LayoutHistory || rep.Reasons[amfi.ReasonFutureDate] != 0 || rep.MinDate != days[0].String() ||
		rep.MaxDate != days[len(days)-1].String() || rep.Rows+rep.Quarantined != st.Rows {
		t.Fatalf("history report %+v, stats %+v", rep, st)
	}
	type key struct{ code, date string }
	histNAV := map[key]string{}
	p, err := amfi.NewParser(bytes.NewReader(hist.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := p.Next()
		if err != nil {
			break
		}
		f := strings.Split(string(r.Raw), ";")
		date, err := time.Parse("02-Jan-2006", f[7])
		if err != nil {
			t.Fatal(err)
		}
		d := fund.DateOf(date)
		if ok, err := cal.IsBusinessDay(d); (err != nil || !ok) && fund.CategoryRuleFor(r.Record.Category) != fund.CategoryLiquid {
			t.Fatalf("%s on %s (%s), a non-business day", f[0], f[7], r.Record.Category)
		}
		histNAV[key{f[0], f[7]}] = f[4]
	}
	matched := 0
	for _, d := range days {
		for _, l := range readFile(t, files[d.String()]) {
			if l.date != d.DMY() || strings.Trim(l.nav, "0.") == "" {
				continue // other days, and the template's zero NAVs that only NAVAll repeats
			}
			h, ok := histNAV[key{l.code, l.date}]
			if !ok || h != l.nav {
				t.Fatalf("%s %s: NAVAll %q, history %q (present %v)", l.code, l.date, l.nav, h, ok)
			}
			matched++
		}
	}
	if matched < 12*8000 {
		t.Fatalf("only %d rows matched", matched)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	tp, _ := template(t)
	if _, err := New(tp, Options{Days: 0}); err == nil {
		t.Error("0 days accepted")
	}
	if _, err := New(tp, Options{Days: 3, End: fund.NewDate(2026, 9, 1)}); err == nil {
		t.Error("an end after the template accepted")
	}
	if _, err := LoadTemplate(strings.NewReader("<html><body>404</body></html>")); err == nil {
		t.Error("an HTML page accepted as a template")
	}
}

// Keep narrows the files to the listed schemes, each under its real
// category, with the template's own NAV on the template's date (the three
// rows below are copied from the fixture file by hand).
func TestKeepWritesOnlyTheListedSchemes(t *testing.T) {
	tp, data := template(t)
	full := map[string]line{}
	for _, l := range readFile(t, data) {
		full[l.code] = l
	}
	want := map[string]string{"119551": "107.1360", "120503": "112.0096", "118989": "235.873"}
	if n, err := tp.Keep([]string{"119551", "120503", "118989"}); err != nil || n != 3 {
		t.Fatalf("Keep: %d, %v", n, err)
	}
	g, err := New(tp, Options{Days: 5, Seed: 1, Calendar: calendar2026(t), NAEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	last := len(g.Days()) - 1
	for i := range g.Days() {
		var b bytes.Buffer
		if _, err := g.WriteNAVAll(&b, i); err != nil {
			t.Fatal(err)
		}
		got := readFile(t, b.Bytes())
		if len(got) != 3 {
			t.Fatalf("day %d: %d rows, want 3", i, len(got))
		}
		for _, l := range got {
			if _, ok := want[l.code]; !ok || l.category != full[l.code].category {
				t.Fatalf("day %d: row %+v (category in the template: %q)", i, l, full[l.code].category)
			}
			if i == last && l.nav != want[l.code] {
				t.Errorf("template day: %s NAV %s, want %s", l.code, l.nav, want[l.code])
			}
		}
	}
	if _, err := tp.Keep([]string{"119551", "999999999"}); err == nil || !strings.Contains(err.Error(), "999999999") {
		t.Errorf("Keep of an unknown code: %v, want an error naming it", err)
	}
}

// A kept scheme walks exactly as it does in the whole file: the demo
// generates its SIP schemes' long history separately from the whole
// file's, and the two must agree wherever both have a date.
func TestKeepChangesNoNAV(t *testing.T) {
	opt := Options{Days: 30, Seed: 7, Calendar: calendar2026(t), NAEvery: -1}
	files, days := generate(t, opt)
	tp, _ := template(t)
	if _, err := tp.Keep([]string{"118989", "120503"}); err != nil {
		t.Fatal(err)
	}
	g, err := New(tp, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range days {
		whole := map[string]string{}
		for _, l := range readFile(t, files[d.String()]) {
			whole[l.code+" "+l.date] = l.nav
		}
		var b bytes.Buffer
		if _, err := g.WriteNAVAll(&b, i); err != nil {
			t.Fatal(err)
		}
		for _, l := range readFile(t, b.Bytes()) {
			if w := whole[l.code+" "+l.date]; w != l.nav {
				t.Fatalf("%s: %s on %s is %s kept, %s in the whole file", d, l.code, l.date, l.nav, w)
			}
		}
	}
}
