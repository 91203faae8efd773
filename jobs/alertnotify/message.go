package alertnotify

import (
	"fmt"
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
