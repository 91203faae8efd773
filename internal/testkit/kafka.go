package testkit

import (
	"net"
	"strconv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Kafka starts an in-process Kafka cluster (franz-go's kfake, one broker)
// with each topic created with the given number of partitions, and returns
// its bootstrap addresses. The cluster ends with the test. Group session
// timeouts down to 100 ms are allowed, so tests of a dead member's
// partitions moving on need not wait Kafka's usual 6 s.
func Kafka(t testing.TB, partitions int32, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatalf("testkit: kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// ReadTopic returns every message of a topic, partition by partition, from
// the first offset up to the high-water mark at the time of the call.
func ReadTopic(t testing.TB, brokers []string, topic string) []kafkago.Message {
	t.Helper()
	ctx := Ctx(t)
	conn, err := kafkago.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		t.Fatalf("testkit: dial kafka: %v", err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		t.Fatalf("testkit: partitions of %s: %v", topic, err)
	}
	var out []kafkago.Message
	for _, p := range parts {
		leader := net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port))
		pc, err := kafkago.DialLeader(ctx, "tcp", leader, topic, p.ID)
		if err != nil {
			t.Fatalf("testkit: dial leader of %s/%d: %v", topic, p.ID, err)
		}
		last, err := pc.ReadLastOffset()
		pc.Close()
		if err != nil {
			t.Fatalf("testkit: last offset of %s/%d: %v", topic, p.ID, err)
		}
		if last == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID, MinBytes: 1, MaxBytes: 16 << 20,
			// Close waits for the fetch in flight: keep broker-side waits short.
			MaxWait: 50 * time.Millisecond})
		if err := r.SetOffset(kafkago.FirstOffset); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("testkit: read %s/%d: %v", topic, p.ID, err)
			}
			out = append(out, m)
			if m.Offset+1 >= last {
				break
			}
		}
		r.Close()
	}
	return out
}
