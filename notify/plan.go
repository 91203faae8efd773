package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Preferences is where planning reads an investor's choices.
type Preferences interface {
	// Preference returns the investor's preference for the event type, else
	// their default (AnyEvent), else nil.
	Preference(ctx context.Context, investorID, eventType string) (*Preference, error)
}

// Planner turns one event into its notifications.
type Planner struct {
	Templates *Templates
	RM        ReadModel
	Prefs     Preferences
	Now       func() time.Time
}

// Plan returns the event's notifications (one per channel the investor
// chose, rendered), or a dead letter when the event cannot be delivered (an
// unknown investor, a malformed payload, a template that fails, no address);
// err is only for failures worth retrying (the database). An opt-out gives
// neither.
func (p Planner) Plan(ctx context.Context, e fund.OutboxEvent) ([]Notification, *DeadLetter, error) {
	dead := func(reason string) ([]Notification, *DeadLetter, error) {
		return nil, &DeadLetter{EventID: e.EventID, Reason: reason, Payload: e.Payload}, nil
	}
	spec, ok := SpecOf(e.Topic)
	if !ok {
		return dead(fmt.Sprintf("no notification for topic %q", e.Topic))
	}
	pl, err := spec.Build(ctx, e.Payload, p.RM)
	var mal *MalformedError
	switch {
	case errors.As(err, &mal):
		return dead(err.Error())
	case errors.Is(err, ErrUnknownInvestor):
		return dead(err.Error())
	case err != nil:
		return nil, nil, fmt.Errorf("notify: plan %s: %w", e.EventID, err)
	case pl.Skip:
		return nil, nil, nil
	}
	pref, err := p.Prefs.Preference(ctx, pl.Investor.ID, e.Topic)
	if err != nil {
		return nil, nil, fmt.Errorf("notify: preferences of %s: %w", pl.Investor.ID, err)
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	d := Decide(pref, pl.Kind, now())
	if len(d.Channels) == 0 {
		return nil, nil, nil
	}
	var out []Notification
	var missing []string
	for _, ch := range d.Channels {
		to := ""
		switch ch {
		case Email:
			to = pl.Investor.Email
		case SMS:
			to = pl.Investor.Phone
		case Push:
			if pref != nil {
				to = pref.PushToken
			}
		}
		if to == "" {
			missing = append(missing, string(ch))
			continue
		}
		t, ok := p.Templates.Lookup(e.Topic, ch)
		if !ok {
			missing = append(missing, string(ch)+" (no template)")
			continue
		}
		subj, body, err := t.Render(pl.Data, pl.Secrets...)
		if err != nil {
			return dead(err.Error())
		}
		out = append(out, Notification{
			EventID: e.EventID, Channel: ch, InvestorID: pl.Investor.ID, EventType: e.Topic,
			Template: t.Name(), Recipient: to, Subject: subj, Body: body,
			Urgent: pl.Kind.Urgent, NotBefore: d.NotBefore,
		})
	}
	if len(out) == 0 {
		return dead(fmt.Sprintf("investor %s has no address for %v", pl.Investor.ID, missing))
	}
	return out, nil, nil
}
