package alertnotify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// SlackMessage is a Slack incoming-webhook message
// (https://api.slack.com/messaging/webhooks): text is the notification's
// plain fallback, blocks its layout. Teams' and Mattermost's
// Slack-compatible webhooks take the same body.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a header, section or context block.
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
	Fields   []SlackText `json:"fields,omitempty"`
}

// SlackText is a plain_text or mrkdwn text object.
type SlackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Slack's limits: a header's text 150 characters, a section's 3000.
const (
	headerLimit  = 150
	sectionLimit = 3000
)

// Message is the webhook body of one raise or resolve of an alert.
func Message(kind, subject, detail, event string, alertID int64, raisedAt time.Time, resolvedAt *time.Time) SlackMessage {
	verb, icon := "Raised", ":rotating_light:"
	if event == "resolved" {
		verb, icon = "Resolved", ":white_check_mark:"
	}
	// text is mrkdwn too (the notification's fallback): escaped as well.
	text := fmt.Sprintf("[%s] %s: %s", strings.ToUpper(event), escapeCut(kind, 200), escapeCut(subject, 1000))
	when := "raised " + raisedAt.UTC().Format(time.RFC3339)
	if event == "resolved" && resolvedAt != nil {
		when += ", resolved " + resolvedAt.UTC().Format(time.RFC3339) + " (open " + resolvedAt.Sub(raisedAt).Round(time.Second).String() + ")"
	}
	// The subject gets up to a third of the section, the detail the rest;
	// each is escaped as it is cut, so no entity (&amp;) is cut in half.
	body := "*" + escapeCut(subject, sectionLimit/3) + "*"
	if detail != "" {
		body += "\n" + escapeCut(detail, sectionLimit-utf8.RuneCountInString(body)-1)
	}
	return SlackMessage{
		Text: text,
		Blocks: []SlackBlock{
			{Type: "header", Text: &SlackText{Type: "plain_text", Text: truncate(icon+" "+verb+": "+kind, headerLimit), Emoji: true}},
			{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: body}},
			{Type: "context", Elements: []SlackText{{Type: "mrkdwn", Text: fmt.Sprintf("fundflow alert %d · %s", alertID, when)}}},
		},
	}
}

// escapeCut makes s literal in Slack's mrkdwn (&, < and > are its only
// control characters: links, mentions) in at most n characters, cutting
// whole characters with their escapes and marking a cut with "…".
func escapeCut(s string, n int) string {
	var b strings.Builder
	used := 0
	for i, r := range s {
		e := string(r)
		switch r {
		case '&':
			e = "&amp;"
		case '<':
			e = "&lt;"
		case '>':
			e = "&gt;"
		}
		k := utf8.RuneCountInString(e)
		// room for this one, and for the "…" unless it is the last
		_, w := utf8.DecodeRuneInString(s[i:])
		if used+k > n-1 && (used+k > n || i+w < len(s)) {
			b.WriteString("…")
			return b.String()
		}
		b.WriteString(e)
		used += k
	}
	return b.String()
}

// truncate cuts s to at most n characters (runes), marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Digest's bounds: kinds shown (Slack allows 50 blocks a message) and
// subjects named per kind.
const (
	digestKinds    = 20
	digestSubjects = 10
)

// Digest is one message for a burst of deliveries: how many alerts were
// raised and resolved, then per kind and event the count and the first
// subjects. The rows themselves stay in Postgres (the context block says
// which ids).
func Digest(ds []delivery) SlackMessage {
	type group struct {
		kind, event string
		subjects    []string
		n           int
	}
	byKey := map[[2]string]*group{}
	var groups []*group
	var raised, resolved int
	lo, hi := ds[0].AlertID, ds[0].AlertID
	for _, d := range ds {
		if d.Event == "resolved" {
			resolved++
		} else {
			raised++
		}
		lo, hi = min(lo, d.AlertID), max(hi, d.AlertID)
		k := [2]string{d.Kind, d.Event}
		g := byKey[k]
		if g == nil {
			g = &group{kind: d.Kind, event: d.Event}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.n++
		if len(g.subjects) < digestSubjects {
			g.subjects = append(g.subjects, d.Subject)
		}
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.kind, b.kind), strings.Compare(a.event, b.event))
	})
	var counts []string
	if raised > 0 {
		counts = append(counts, fmt.Sprintf("%d alerts raised", raised))
	}
	if resolved > 0 {
		counts = append(counts, fmt.Sprintf("%d resolved", resolved))
	}
	summary := strings.Join(counts, ", ")
	var kinds []string
	blocks := []SlackBlock{{Type: "header", Text: &SlackText{Type: "plain_text", Text: truncate(":rotating_light: "+summary, headerLimit), Emoji: true}}}
	for i, g := range groups {
		if i < 5 {
			kinds = append(kinds, fmt.Sprintf("%s %s ×%d", escapeCut(g.kind, 100), g.event, g.n))
		}
		if i == digestKinds {
			blocks = append(blocks, SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: fmt.Sprintf("… and %d more kinds", len(groups)-digestKinds)}})
			break
		}
		names := make([]string, len(g.subjects))
		for k, s := range g.subjects {
			names[k] = escapeCut(s, 80)
		}
		line := strings.Join(names, ", ")
		if more := g.n - len(g.subjects); more > 0 {
			line += fmt.Sprintf(" and %d more", more)
		}
		blocks = append(blocks, SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn",
			Text: fmt.Sprintf("*%s* · %d %s\n%s", escapeCut(g.kind, 200), g.n, g.event, line)}})
	}
	if len(groups) > 5 {
		kinds = append(kinds, "…")
	}
	blocks = append(blocks, SlackBlock{Type: "context", Elements: []SlackText{{Type: "mrkdwn",
		Text: fmt.Sprintf("fundflow digest of %d alert notifications · alerts %d to %d in the alerts table", len(ds), lo, hi)}}})
	return SlackMessage{Text: "[DIGEST] " + summary + ": " + strings.Join(kinds, ", "), Blocks: blocks}
}
