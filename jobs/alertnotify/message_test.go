package alertnotify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestMessage(t *testing.T) {
	raised := time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)
	resolved := raised.Add(90 * time.Minute)
	long := strings.Repeat("a&", 2000) // 4,000 characters, 6,000 escaped
	cases := []struct {
		name                    string
		kind, subject, detail   string
		event                   string
		resolvedAt              *time.Time
		text, header, section   string // "" = not checked
		context                 string
		sectionLen, sectionTail int // the section's length in characters, when cut; and the cut's mark
	}{
		{name: "raised", kind: "nav_stale", subject: "HDFC Mutual Fund", detail: "3 schemes <late> & stale", event: "raised",
			text: "[RAISED] nav_stale: HDFC Mutual Fund", header: ":rotating_light: Raised: nav_stale",
			section: "*HDFC Mutual Fund*\n3 schemes &lt;late&gt; &amp; stale", context: "fundflow alert 7 · raised 2026-12-04T09:30:00Z"},
		{name: "resolved", kind: "allot_failed", subject: "ORD-1/1", detail: "scheme closed", event: "resolved", resolvedAt: &resolved,
			text: "[RESOLVED] allot_failed: ORD-1/1", header: ":white_check_mark: Resolved: allot_failed", section: "*ORD-1/1*\nscheme closed",
			context: "fundflow alert 7 · raised 2026-12-04T09:30:00Z, resolved 2026-12-04T11:00:00Z (open 1h30m0s)"},
		{name: "no detail", kind: "k", subject: "s", event: "raised", section: "*s*"},
		// 3000 = "*s*\n" (4) + 2,995 characters + "…": whole escapes only.
		{name: "long detail cut at Slack's limit", kind: "k", subject: "s", detail: long, event: "raised", sectionLen: 3000},
		{name: "long kind cut in the header", kind: strings.Repeat("k", 300), subject: "s", event: "raised"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := Message(c.kind, c.subject, c.detail, c.event, 7, raised, c.resolvedAt)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var back SlackMessage
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			h, s, x := back.Blocks[0].Text.Text, back.Blocks[1].Text.Text, back.Blocks[2].Elements[0].Text
			for _, w := range []struct{ name, got, want string }{{"text", back.Text, c.text}, {"header", h, c.header}, {"section", s, c.section}, {"context", x, c.context}} {
				if w.want != "" && w.got != w.want {
					t.Errorf("%s %q, want %q", w.name, w.got, w.want)
				}
			}
			if n := utf8.RuneCountInString(h); n > 150 {
				t.Errorf("header of %d characters", n)
			}
			if n := utf8.RuneCountInString(s); n > 3000 || (c.sectionLen > 0 && n != c.sectionLen) {
				t.Errorf("section of %d characters, want at most 3000 (%d)", n, c.sectionLen)
			}
			if c.sectionLen > 0 {
				body := strings.TrimPrefix(strings.TrimSuffix(s, "…"), "*s*\n")
				if !strings.HasSuffix(s, "…") || strings.Count(body, "&") != strings.Count(body, "&amp;") {
					t.Errorf("cut section ends %q: an escape cut in half, or no mark", s[len(s)-20:])
				}
			}
		})
	}
}

// Whatever the alert says, the message is JSON within Slack's limits and
// the detail's control characters arrive escaped.
func FuzzMessage(f *testing.F) {
	f.Add("nav_stale", "HDFC", "3 <schemes> & more", true)
	f.Add("k", strings.Repeat("&", 1200), strings.Repeat("<é>", 1500), false)
	f.Fuzz(func(t *testing.T, kind, subject, detail string, resolved bool) {
		if !utf8.ValidString(kind + subject + detail) {
			return // no such alert: Postgres text is valid UTF-8
		}
		ev, at := "raised", (*time.Time)(nil)
		if resolved {
			now := time.Unix(1e9, 0)
			ev, at = "resolved", &now
		}
		m := Message(kind, subject, detail, ev, 1, time.Unix(1e9-60, 0), at)
		if _, err := json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(m.Blocks[0].Text.Text); n > 150 {
			t.Fatalf("header of %d characters", n)
		}
		s := m.Blocks[1].Text.Text
		if n := utf8.RuneCountInString(s); n > 3000 {
			t.Fatalf("section of %d characters", n)
		}
		if strings.ContainsAny(s+m.Text, "<>") {
			t.Fatalf("unescaped < or > in %q or %q", m.Text, s)
		}
	})
}

// A digest of many kinds stays within Slack's 50 blocks: the 20 largest
// kinds, then how many more; the header and text count both events.
func TestDigestBounds(t *testing.T) {
	var ds []delivery
	id := int64(0)
	for k := 1; k <= 30; k++ {
		for i := 0; i < k; i++ { // kind k has k deliveries
			id++
			ds = append(ds, delivery{AlertID: id, Event: "raised", Kind: fmt.Sprintf("kind%02d", k), Subject: fmt.Sprintf("s<%d>", i)})
		}
	}
	ds = append(ds, delivery{AlertID: 1, Event: "resolved", Kind: "kind01", Subject: "s<0>"})
	m := Digest(ds)
	if len(m.Blocks) != 1+20+1+1 {
		t.Fatalf("%d blocks, want header, 20 kinds, the rest, context", len(m.Blocks))
	}
	if got := m.Blocks[0].Text.Text; got != ":rotating_light: 465 alerts raised, 1 resolved" { // 1+2+…+30 = 465
		t.Errorf("header %q", got)
	}
	if got := m.Blocks[1].Text.Text; !strings.HasPrefix(got, "*kind30* · 30 raised\ns&lt;0&gt;, s&lt;1&gt;,") || !strings.HasSuffix(got, " and 20 more") {
		t.Errorf("largest kind first: %q", got)
	}
	if got := m.Blocks[21].Text.Text; got != "… and 11 more kinds" { // 31 groups: 30 raised kinds and kind01's resolve
		t.Errorf("rest %q", got)
	}
	if got := m.Blocks[22].Elements[0].Text; got != "fundflow digest of 466 alert notifications · alerts 1 to 465 in the alerts table" {
		t.Errorf("context %q", got)
	}
}
