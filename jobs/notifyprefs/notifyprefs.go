// Package notifyprefs is the notify-preferences job: it consumes the
// platform's preference changes from Kafka (topic notify.preferences, key
// the investor id, value notify.PreferenceMessage as JSON, the same as the
// API route's body with investor_id) and stores each. Offsets are committed
// after the batch is stored; a message that cannot be read or names a bad
// field goes to notify_dead_letters with its position and the reason, and
// the stream goes on.
package notifyprefs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/notify"
	"github.com/fundflow/fundflow/notify/pgstore"
)

// Topic is where the platform sends preferences.
const Topic = "notify.preferences"

// Job consumes one batch at a time.
type Job struct {
	Source *kafka.Source
	Store  pgstore.Store
	Log    *slog.Logger
}

// Batch reads the next messages (blocking until one arrives), stores them
// and commits their offsets; it returns how many were stored and how many
// went to dead letter.
func (j Job) Batch(ctx context.Context) (stored, dead int, err error) {
	b, err := j.Source.Read(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range b.Items {
		var pm notify.PreferenceMessage
		var p notify.Preference
		err := json.Unmarshal(m.Value, &pm)
		if err == nil {
			if pm.InvestorID == "" {
				pm.InvestorID = string(m.Key)
			}
			p, err = pm.Preference()
		}
		if err != nil {
			if derr := j.Store.DeadLetter(ctx, notify.DeadLetter{EventID: m.Position(), Reason: "preference: " + err.Error(), Payload: m.Value}); derr != nil {
				return stored, dead, derr
			}
			dead++
			continue
		}
		if err := j.Store.PutPreference(ctx, p); err != nil {
			return stored, dead, fmt.Errorf("notify preferences: %w", err)
		}
		stored++
	}
	// Only now: a crash before this reads the batch again, and storing a
	// preference twice is the same row.
	return stored, dead, j.Source.Commit(ctx, b.Through)
}
