package kafka

import (
	"context"
	"fmt"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// EventSink publishes outbox events, each to its own topic (the writer must
// have no Topic set), keyed by the event's key so one folio's events stay in
// order on one partition. The event id travels in the event_id header;
// consumers dedupe on it (a batch written again after a crash is published
// again).
type EventSink struct{ W *kafkago.Writer }

// Name labels the sink's metrics.
func (EventSink) Name() string { return "kafka-events" }

// Close closes the writer: the sink owns it, and the pipeline that runs the
// sink closes it when the run ends (pipelines.Sink).
func (s EventSink) Close() error { return s.W.Close() }

// Write publishes a batch and returns once Kafka acknowledged all of it.
func (s EventSink) Write(ctx context.Context, b pipelines.Batch[fund.OutboxEvent]) error {
	if len(b.Items) == 0 {
		return nil
	}
	msgs := make([]kafkago.Message, len(b.Items))
	for i, e := range b.Items {
		msgs[i] = kafkago.Message{
			Topic: e.Topic,
			Key:   []byte(e.Key),
			Value: e.Payload,
			Headers: []kafkago.Header{
				{Key: "event_id", Value: []byte(e.EventID)},
				{Key: "event_type", Value: []byte(e.Topic + "/v1")},
				{Key: "content_type", Value: []byte("application/json")},
			},
		}
	}
	if err := s.W.WriteMessages(ctx, msgs...); err != nil {
		return classify(fmt.Errorf("kafka: publish %d outbox events: %w", len(msgs), summarise(err)))
	}
	return nil
}
