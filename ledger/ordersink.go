package ledger

import (
	"context"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// OrderSink is the orders pipeline's pipelines.Sink: each batch of order
// intakes is placed through the Service in one transaction (PlaceOrders),
// so the batch's Kafka offsets are committed only after it. Outcomes other
// than accepted are the platform's answers, not errors.
type OrderSink struct{ Service *Service }

// Name labels the sink's metrics (unchanged since the sink lived in
// sinks/postgres, so dashboards keep their series).
func (OrderSink) Name() string { return "postgres-orders" }

// Write places the batch.
func (s OrderSink) Write(ctx context.Context, b pipelines.Batch[fund.OrderIntake]) error {
	if len(b.Items) == 0 {
		return nil
	}
	_, err := s.Service.PlaceOrders(ctx, b.Items)
	return err
}
