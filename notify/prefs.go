package notify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// IST is India Standard Time (UTC+5:30, no daylight saving): quiet hours
// are the investor's evening and night in India.
var IST = time.FixedZone("IST", 5*3600+1800)

// AnyEvent is the event type of an investor's default preference.
const AnyEvent = "*"

// Preference is what an investor chose for one event type (or AnyEvent).
type Preference struct {
	InvestorID string
	EventType  string
	Channels   []Channel
	// Quiet hours, minutes after midnight IST; QuietStart == QuietEnd: none.
	// A window may wrap past midnight (22:00–07:00 is 1320–420).
	QuietStart, QuietEnd int
	OptedOut             bool
	PushToken            string
}

// Validate names the first field that is wrong.
func (p Preference) Validate() error {
	if p.InvestorID == "" {
		return fmt.Errorf("investor_id: required")
	}
	if p.EventType == "" {
		return fmt.Errorf("event_type: required (or %q for every type)", AnyEvent)
	}
	for i, c := range p.Channels {
		if !c.Valid() {
			return fmt.Errorf("channels[%d]: unknown channel %q (email, sms, push)", i, c)
		}
	}
	for _, q := range []struct {
		name string
		v    int
	}{{"quiet_start", p.QuietStart}, {"quiet_end", p.QuietEnd}} {
		if q.v < 0 || q.v >= 24*60 {
			return fmt.Errorf("%s: %d is not a minute of the day (0..1439)", q.name, q.v)
		}
	}
	return nil
}

// Kind is what the pipeline knows about an event type: whether it may wait
// for the end of quiet hours, and whether an investor may opt out of it.
type Kind struct {
	Urgent     bool // fraud hold, failed payment: sent in quiet hours too
	Regulatory bool // a confirmation the regulator requires: cannot be opted out of
}

// Decision is where and when one event goes.
type Decision struct {
	Channels  []Channel
	NotBefore time.Time
	Skipped   string // why nothing is sent (an opt-out), when Channels is empty
}

// Decide applies the investor's preference for an event of kind k at now:
// pref is the preference of the event's type, else the investor's default
// (AnyEvent), else nil (email only; email and SMS for urgent events).
func Decide(pref *Preference, k Kind, now time.Time) Decision {
	var chans []Channel
	if pref != nil {
		chans = slices.Clone(pref.Channels)
	}
	if pref == nil || len(chans) == 0 {
		chans = []Channel{Email}
		if k.Urgent {
			chans = append(chans, SMS)
		}
	}
	if pref != nil && pref.OptedOut && !k.Regulatory {
		return Decision{Skipped: "opted out of " + pref.EventType}
	}
	d := Decision{Channels: chans, NotBefore: now}
	if pref != nil && !k.Urgent {
		d.NotBefore = QuietEnd(now, pref.QuietStart, pref.QuietEnd)
	}
	return d
}

// QuietEnd is now when now is outside the quiet window [start, end) (minutes
// after midnight IST), else the window's end (the next such minute in IST).
func QuietEnd(now time.Time, start, end int) time.Time {
	if start == end {
		return now
	}
	ist := now.In(IST)
	minute := ist.Hour()*60 + ist.Minute()
	inside := false
	if start < end {
		inside = minute >= start && minute < end
	} else { // wraps past midnight
		inside = minute >= start || minute < end
	}
	if !inside {
		return now
	}
	midnight := time.Date(ist.Year(), ist.Month(), ist.Day(), 0, 0, 0, 0, IST)
	t := midnight.Add(time.Duration(end) * time.Minute)
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t.UTC()
}

// PreferenceMessage is a preference as the platform sends it (the API
// route's body; on Kafka with investor_id too). Quiet hours are "HH:MM" IST.
type PreferenceMessage struct {
	InvestorID string   `json:"investor_id,omitempty"`
	EventType  string   `json:"event_type"`
	Channels   []string `json:"channels"`
	QuietStart string   `json:"quiet_start"`
	QuietEnd   string   `json:"quiet_end"`
	OptedOut   bool     `json:"opted_out"`
	PushToken  string   `json:"push_token"`
}

// Preference checks the message and returns the preference, or an error
// naming the field.
func (m PreferenceMessage) Preference() (Preference, error) {
	p := Preference{InvestorID: m.InvestorID, EventType: m.EventType, OptedOut: m.OptedOut, PushToken: m.PushToken}
	for _, c := range m.Channels {
		p.Channels = append(p.Channels, Channel(c))
	}
	var err error
	if p.QuietStart, err = hhmm("quiet_start", m.QuietStart); err != nil {
		return p, err
	}
	if p.QuietEnd, err = hhmm("quiet_end", m.QuietEnd); err != nil {
		return p, err
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	if p.EventType != AnyEvent {
		if _, ok := SpecOf(p.EventType); !ok {
			return p, fmt.Errorf("event_type: unknown %q (known: %s, or %q)", p.EventType, strings.Join(SpecTypes(), ", "), AnyEvent)
		}
	}
	return p, nil
}

func hhmm(field, v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	h, m, ok := strings.Cut(v, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%s: %q is not a time of day HH:MM (IST)", field, v)
	}
	return hh*60 + mm, nil
}
