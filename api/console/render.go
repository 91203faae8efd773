package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/sinks/postgres"
)

const tsLayout = "2006-01-02 15:04:05 IST"

var funcs = template.FuncMap{
	// ts is a moment in IST, the clock the business runs on (NAV cut-offs
	// and due times read naturally).
	"ts": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.In(fund.IST()).Format(tsLayout)
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.In(fund.IST()).Format(tsLayout)
		}
		return fmt.Sprint(t)
	},
	"day": func(t time.Time) string { return t.Format("2006-01-02") },
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return "0s"
		}
		return humanDuration(d)
	},
	// runDur is a run's duration, or how long it has been running.
	"runDur": func(r postgres.RunRow, now time.Time) string {
		end := now
		if r.FinishedAt != nil {
			end = *r.FinishedAt
		}
		return humanDuration(end.Sub(r.StartedAt))
	},
	"str": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
	"short": func(s string, n int) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n-1]) + "…"
		}
		return s
	},
	// raw is a quarantined line as text: invalid UTF-8 shown as escapes.
	"raw": func(b []byte) string {
		if utf8.Valid(b) {
			return strings.TrimRight(string(b), "\r\n")
		}
		q := strconv.Quote(string(b))
		return q[1 : len(q)-1]
	},
	"quote": func(b []byte) string { return strconv.Quote(string(b)) },
	"list":  func(s ...string) []string { return s },
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < 48*time.Hour:
		return d.Round(time.Second).String()
	}
	return fmt.Sprintf("%dd %s", d/(24*time.Hour), (d % (24 * time.Hour)).Round(time.Minute))
}

// parse builds one template per page: the layout with the page's blocks.
func (h *Handler) parse() error {
	names, err := assets.ReadDir("templates")
	if err != nil {
		return err
	}
	h.pages = map[string]*template.Template{}
	for _, e := range names {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", path.Join("templates", e.Name()))
		if err != nil {
			return fmt.Errorf("console: template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	return nil
}

// render writes a page; a template error becomes a plain 500 before
// anything is sent.
func (h *Handler) render(w http.ResponseWriter, status int, page string, v view) {
	if v.Now.IsZero() {
		v.Now = h.cfg.Now()
	}
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, v); err != nil {
		h.cfg.Log.Error("ops console: template", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
