package fraudeval

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
)

// A batch's offsets are committed no further than the last snapshot's
// positions (a start replays from the snapshot), and not at all for a
// partition no snapshot has reached.
func TestClamp(t *testing.T) {
	durable := map[[2]any]int64{{"orders.status", 0}: 40, {"orders.status", 1}: 99}
	at := func(s string, p int) int64 {
		if o, ok := durable[[2]any{s, p}]; ok {
			return o
		}
		return -1
	}
	for _, tc := range []struct {
		name string
		in   []kafkaOffset
		want []kafkaOffset // nil: nothing to commit
	}{
		{"behind the snapshot: as is", []kafkaOffset{{"orders.status", 0, 30}}, []kafkaOffset{{"orders.status", 0, 30}}},
		{"ahead: the snapshot's", []kafkaOffset{{"orders.status", 0, 55}}, []kafkaOffset{{"orders.status", 0, 40}}},
		{"each partition its own", []kafkaOffset{{"orders.status", 0, 55}, {"orders.status", 1, 60}}, []kafkaOffset{{"orders.status", 0, 40}, {"orders.status", 1, 60}}},
		{"no snapshot yet: dropped", []kafkaOffset{{"orders.status", 2, 5}, {"orders.status", 0, 41}}, []kafkaOffset{{"orders.status", 0, 40}}},
		{"nothing left", []kafkaOffset{{"orders.status", 3, 5}}, nil},
	} {
		pos, _ := json.Marshal(tc.in)
		cp, ok, err := clamp(pipelines.Checkpoint{Stream: "kafka/orders.status", Pos: pos}, at)
		if err != nil {
			t.Fatal(err)
		}
		var got []kafkaOffset
		if ok {
			if err := json.Unmarshal(cp.Pos, &got); err != nil {
				t.Fatal(err)
			}
		}
		if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v (%v), want %v", tc.name, got, ok, tc.want)
		}
	}
}

// kafkaOffset reads connectors/kafka's own checkpoint: a real batch's.
func TestClampReadsTheSourcesCheckpoint(t *testing.T) {
	ctx := testkit.Ctx(t)
	brokers := testkit.Kafka(t, 1, "t1")
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: "t1", BatchTimeout: time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte("a")}, kafkago.Message{Value: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	src, err := kafka.NewSource(kafka.Config{Brokers: brokers, Topic: "t1", GroupID: "g", Batch: 2, Linger: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	b, err := src.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := b.Items[len(b.Items)-1]
	cp, ok, err := clamp(b.Through, func(string, int) int64 { return 0 })
	var got []kafkaOffset
	if err == nil && ok {
		err = json.Unmarshal(cp.Pos, &got)
	}
	// the snapshot at offset 0: the batch's last offset is clamped to 0
	if err != nil || !slices.Equal(got, []kafkaOffset{{"t1", last.Partition, 0}}) || last.Offset < 0 {
		t.Errorf("clamped %s to %v (%v, %v)", b.Through.Pos, got, ok, err)
	}
}
