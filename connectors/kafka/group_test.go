package kafka

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fundflow/fundflow/internal/testkit"
)

// A group member whose process dies while its JoinGroup waits for the
// rebalance (a SIGKILL at the wrong moment) must not keep the partition the
// leader then assigns it: once its session times out, the live member gets
// it back and reads every message. kfake kept such a member for ever (see
// third_party/kfake/PATCHED.md); the crash tests stalled on it.
func TestGroupRecoversFromMemberKilledMidJoin(t *testing.T) {
	ctx := testkit.Ctx(t)
	const topic, group = "ghost", "ghost-group"
	brokers := testkit.Kafka(t, 2, topic)
	// A 6 s session: the live member heartbeats every 600 ms, which leaves
	// time to kill the second one while its join waits for that heartbeat.
	src, err := NewSource(Config{Brokers: brokers, Topic: topic, GroupID: group, Batch: 10, SessionTimeout: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.RoundRobin{}, BatchTimeout: time.Millisecond}
	defer w.Close()
	produce := func(n int) {
		ms := make([]kafkago.Message, n)
		for i := range ms {
			ms[i] = kafkago.Message{Value: []byte("m")}
		}
		if err := w.WriteMessages(ctx, ms...); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]int{} // partition -> messages read
	read := func(want int, within time.Duration) {
		rctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		for n := 0; n < want; {
			b, err := src.Read(rctx)
			if err != nil {
				t.Fatalf("read %d of %d messages (by partition %v): %v", n, want, seen, err)
			}
			for _, m := range b.Items {
				seen[m.Partition]++
			}
			n += len(b.Items)
			if err := src.Commit(rctx, b.Through); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(4)
	read(4, 30*time.Second)

	admin, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	state := func() (string, int) {
		d := kmsg.NewPtrDescribeGroupsRequest()
		d.Groups = []string{group}
		r, err := d.RequestWith(ctx, admin)
		if err != nil || len(r.Groups) != 1 {
			t.Fatalf("describe group: %v", err)
		}
		return r.Groups[0].State, len(r.Groups[0].Members)
	}

	// killMidJoin has a second member join and die while its join waits
	// for the first member to rejoin. It speaks JoinGroup v5 on a bare
	// connection, so its death is a closed socket, as after a SIGKILL.
	killMidJoin := func() {
		conn, err := net.Dial("tcp", brokers[0])
		if err != nil {
			t.Fatal(err)
		}
		join := kmsg.NewPtrJoinGroupRequest()
		join.SetVersion(5)
		join.Group, join.ProtocolType = group, "consumer"
		join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = 1000, 1000
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics = []string{topic}
		proto := kmsg.NewJoinGroupRequestProtocol()
		proto.Name, proto.Metadata = "range", meta.AppendTo(nil)
		join.Protocols = append(join.Protocols, proto)
		send := func(corr int32) {
			msg := binary.BigEndian.AppendUint16(nil, uint16(join.Key()))
			msg = binary.BigEndian.AppendUint16(msg, uint16(join.GetVersion()))
			msg = binary.BigEndian.AppendUint32(msg, uint32(corr))
			msg = binary.BigEndian.AppendUint16(msg, 4)
			msg = append(msg, "dead"...)
			msg = join.AppendTo(msg)
			if _, err := conn.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(msg))), msg...)); err != nil {
				t.Fatal(err)
			}
		}
		send(1)
		var size [4]byte
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(conn, body); err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.SetVersion(5)
		if err := resp.ReadFrom(body[4:]); err != nil { // after the correlation id
			t.Fatal(err)
		}
		join.MemberID = resp.MemberID // the broker asks a new member to come back with an id
		send(2)
		for {
			if s, n := state(); s == "PreparingRebalance" && n == 2 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		conn.Close()
	}
	// kfake's broker answers the dead member, or notices it is gone, at
	// random; the defect showed in about half the rounds, so four rounds.
	for round := range 4 {
		killMidJoin()
		// The first member rejoins and leads; the group settles with the dead
		// member assigned a partition, until its 1 s session runs out. The
		// live member's readers of the old generation stop within moments.
		for {
			if s, _ := state(); s == "Stable" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)

		// Everything produced from now on is read, from both partitions.
		produce(20)
		clear(seen)
		read(20, 20*time.Second)
		if seen[0] == 0 || seen[1] == 0 {
			t.Fatalf("round %d: read by partition %v: a partition was left to the dead member", round, seen)
		}
		if s, n := state(); s != "Stable" || n != 1 {
			t.Errorf("round %d: group %s with %d members; want Stable with the live one", round, s, n)
		}
	}
}
