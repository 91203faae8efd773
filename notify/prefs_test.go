package notify

import (
	"slices"
	"testing"
	"time"
)

func TestQuietEnd(t *testing.T) {
	// IST = UTC+5:30. Window 22:00–07:00 IST = 1320–420.
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name       string
		now        string
		start, end int
		want       string
	}{
		{"no window", "2026-12-05T18:00:00Z", 600, 600, "2026-12-05T18:00:00Z"},
		// 18:00 UTC = 23:30 IST, inside; ends 07:00 IST on the 6th = 01:30 UTC on the 6th.
		{"late evening", "2026-12-05T18:00:00Z", 1320, 420, "2026-12-06T01:30:00Z"},
		// 20:00 UTC = 01:30 IST on the 6th, inside (after midnight); ends 07:00 IST the same IST day = 01:30 UTC on the 6th.
		{"after midnight", "2026-12-05T20:00:00Z", 1320, 420, "2026-12-06T01:30:00Z"},
		// 04:00 UTC = 09:30 IST, outside.
		{"morning", "2026-12-05T04:00:00Z", 1320, 420, "2026-12-05T04:00:00Z"},
		// 16:30 UTC = 22:00 IST exactly: the start minute is inside.
		{"start minute", "2026-12-05T16:30:00Z", 1320, 420, "2026-12-06T01:30:00Z"},
		// 01:30 UTC = 07:00 IST: the end minute is outside.
		{"end minute", "2026-12-06T01:30:00Z", 1320, 420, "2026-12-06T01:30:00Z"},
		// A daytime window 13:00–14:00 IST (780–840); 07:45 UTC = 13:15 IST → 14:00 IST = 08:30 UTC.
		{"daytime window", "2026-12-05T07:45:00Z", 780, 840, "2026-12-05T08:30:00Z"},
	} {
		got := QuietEnd(utc(c.now), c.start, c.end)
		if !got.Equal(utc(c.want)) {
			t.Errorf("%s: QuietEnd = %s, want %s", c.name, got.UTC().Format(time.RFC3339), c.want)
		}
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC) // 23:30 IST
	morning := time.Date(2026, 12, 6, 1, 30, 0, 0, time.UTC)
	quiet := &Preference{InvestorID: "I", EventType: "orders.status", Channels: []Channel{SMS, Push}, QuietStart: 1320, QuietEnd: 420}
	out := &Preference{InvestorID: "I", EventType: "orders.status", Channels: []Channel{Email}, OptedOut: true}
	for _, c := range []struct {
		name      string
		pref      *Preference
		kind      Kind
		chans     []Channel
		notBefore time.Time
		skipped   bool
	}{
		{"no preference", nil, Kind{}, []Channel{Email}, now, false},
		{"no preference, urgent", nil, Kind{Urgent: true}, []Channel{Email, SMS}, now, false},
		{"quiet hours wait", quiet, Kind{}, []Channel{SMS, Push}, morning, false},
		{"urgent bypasses quiet hours", quiet, Kind{Urgent: true}, []Channel{SMS, Push}, now, false},
		{"opted out", out, Kind{}, nil, time.Time{}, true},
		{"regulatory ignores the opt-out", out, Kind{Regulatory: true}, []Channel{Email}, now, false},
	} {
		d := Decide(c.pref, c.kind, now)
		if !slices.Equal(d.Channels, c.chans) || !d.NotBefore.Equal(c.notBefore) || (d.Skipped != "") != c.skipped {
			t.Errorf("%s: got %+v, want channels %v not before %s skipped %v", c.name, d, c.chans, c.notBefore, c.skipped)
		}
	}
}

func TestPreferenceValidate(t *testing.T) {
	for _, c := range []struct {
		p    Preference
		want string
	}{
		{Preference{InvestorID: "I", EventType: "*", Channels: []Channel{Email}}, ""},
		{Preference{EventType: "*"}, "investor_id: required"},
		{Preference{InvestorID: "I"}, `event_type: required (or "*" for every type)`},
		{Preference{InvestorID: "I", EventType: "*", Channels: []Channel{"fax"}}, `channels[0]: unknown channel "fax" (email, sms, push)`},
		{Preference{InvestorID: "I", EventType: "*", QuietStart: 1440}, "quiet_start: 1440 is not a minute of the day (0..1439)"},
	} {
		err := c.p.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("Validate(%+v) = %q, want %q", c.p, got, c.want)
		}
	}
}
