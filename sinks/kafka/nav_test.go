package kafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
)

// navLine builds a NAV from the text a feed would carry.
func navLine(code, date, nav, file string, line int) fund.NAVLine {
	d, err := fund.ParseISODate(date)
	if err != nil {
		panic(err)
	}
	return fund.NAVLine{
		NAVRecord: fund.NAVRecord{SchemeCode: code, SchemeName: "Fund " + code, Category: "Equity Scheme - Large Cap Fund",
			SchemeType: "Open Ended Schemes", AMC: "Example Mutual Fund", NAV: decimal.RequireFromString(nav), Date: d},
		From: fund.Origin{File: file, SHA256: strings.Repeat("ab", 32), Line: line},
	}
}

func batch(items ...fund.NAVLine) pipelines.Batch[fund.NAVLine] {
	return pipelines.Batch[fund.NAVLine]{Items: items, Through: pipelines.Checkpoint{Stream: "t", Pos: []byte("1")}}
}

// Every NAV of a batch is on the topic once Write returns, keyed by its
// scheme code, with the NAV exact; one scheme's events share a partition.
func TestNAVSinkPublishesKeyedExactEvents(t *testing.T) {
	ctx := testkit.Ctx(t)
	brokers := testkit.Kafka(t, 4, "nav.validated")
	w := NewWriter(Config{Brokers: brokers, Topic: "nav.validated", BatchSize: 3})
	defer w.Close()

	type in struct{ code, date, nav string }
	inputs := []in{
		{"119551", "2026-08-20", "101.2345"}, {"119551", "2026-08-21", "101.3456"},
		{"100027", "2026-08-21", "10."}, {"100028", "2026-08-21", ".4157"},
		{"145834", "2026-08-21", "1234.56789012"}, {"145835", "2026-08-21", "1000.0000"},
		{"119552", "2026-08-21", "27.0001"},
	}
	var items []fund.NAVLine
	for i, x := range inputs {
		items = append(items, navLine(x.code, x.date, x.nav, "NAVAll.txt", 10+i))
	}
	if err := (NAVSink{W: w}).Write(ctx, batch(items...)); err != nil {
		t.Fatal(err)
	}
	msgs := testkit.ReadTopic(t, brokers, "nav.validated")
	if len(msgs) != len(inputs) {
		t.Fatalf("%d messages on the topic, want %d", len(msgs), len(inputs))
	}
	want := map[string]in{}
	for _, x := range inputs {
		want[x.code+"|"+x.date] = x
	}
	partitionOf := map[string]int{}
	for _, m := range msgs {
		var ev NAVEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("value %q: %v", m.Value, err)
		}
		x, ok := want[ev.SchemeCode+"|"+ev.NAVDate]
		if !ok {
			t.Fatalf("unexpected event %s %s", ev.SchemeCode, ev.NAVDate)
		}
		delete(want, ev.SchemeCode+"|"+ev.NAVDate)
		if string(m.Key) != x.code {
			t.Errorf("key %q, want scheme code %q", m.Key, x.code)
		}
		if got, err := decimal.NewFromString(ev.NAV); err != nil || !got.Equal(decimal.RequireFromString(x.nav)) {
			t.Errorf("%s: nav %q, want %s exactly", x.code, ev.NAV, x.nav)
		}
		if !strings.HasPrefix(ev.EventID, x.code+":"+x.date+":") {
			t.Errorf("event id %q does not start with scheme and date", ev.EventID)
		}
		var hdr string
		for _, h := range m.Headers {
			if h.Key == "event_id" {
				hdr = string(h.Value)
			}
		}
		if hdr != ev.EventID {
			t.Errorf("event_id header %q, value says %q", hdr, ev.EventID)
		}
		if p, seen := partitionOf[x.code]; seen && p != m.Partition {
			t.Errorf("scheme %s on partitions %d and %d", x.code, p, m.Partition)
		}
		partitionOf[x.code] = m.Partition
	}
}

// A batch delivered twice (a crash after Kafka acknowledged it but before the
// checkpoint committed) publishes twice with the same ids: consumers dedupe.
func TestNAVSinkReplayKeepsEventIDs(t *testing.T) {
	ctx := testkit.Ctx(t)
	brokers := testkit.Kafka(t, 2, "nav.validated")
	w := NewWriter(Config{Brokers: brokers, Topic: "nav.validated"})
	defer w.Close()
	b := batch(navLine("1", "2026-08-21", "10.1", "a.txt", 2), navLine("2", "2026-08-21", "20.2", "a.txt", 3), navLine("3", "2026-08-21", "30.3", "a.txt", 4))
	for range 2 {
		if err := (NAVSink{W: w}).Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	msgs := testkit.ReadTopic(t, brokers, "nav.validated")
	ids := map[string]int{}
	for _, m := range msgs {
		var ev NAVEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatal(err)
		}
		ids[ev.EventID]++
	}
	if len(msgs) != 6 || len(ids) != 3 {
		t.Fatalf("%d messages with %d distinct ids, want 6 with 3", len(msgs), len(ids))
	}
	for id, n := range ids {
		if n != 2 {
			t.Errorf("id %s seen %d times, want 2", id, n)
		}
	}
}

// The id names the published fact: the same NAV from another file is the
// same event; any change to what AMFI published is a new one.
func TestNAVEventID(t *testing.T) {
	base := navLine("119551", "2026-08-21", "101.2345", "NAVAll.txt", 100)
	id := func(n fund.NAVLine) string {
		m := NAVMessage(n)
		var ev NAVEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatal(err)
		}
		return ev.EventID
	}
	baseID := id(base)
	for _, tc := range []struct {
		name   string
		change func(n *fund.NAVLine)
		same   bool
	}{
		{"another file and line", func(n *fund.NAVLine) { n.From = fund.Origin{File: "NAVAll_copy.txt", SHA256: "cd", Line: 7} }, true},
		{"same NAV written with trailing zeros", func(n *fund.NAVLine) { n.NAV = decimal.RequireFromString("101.234500") }, true},
		{"corrected NAV", func(n *fund.NAVLine) { n.NAV = decimal.RequireFromString("101.2346") }, false},
		{"another date", func(n *fund.NAVLine) { n.Date = fund.NewDate(2026, 8, 24) }, false},
		{"renamed scheme", func(n *fund.NAVLine) { n.SchemeName = "Renamed" }, false},
		{"repurchase price added", func(n *fund.NAVLine) { n.Repurchase = decimal.NewNullDecimal(decimal.RequireFromString("100")) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := base
			tc.change(&n)
			if got := id(n); (got == baseID) != tc.same {
				t.Fatalf("id %s vs base %s: same=%v, want %v", got, baseID, got == baseID, tc.same)
			}
		})
	}
}

// A topic that does not exist is an error, never a silent success: the
// checkpoint must not move past events Kafka did not take.
func TestNAVSinkFailsWithoutAcknowledgement(t *testing.T) {
	ctx := testkit.Ctx(t)
	brokers := testkit.Kafka(t, 1, "other")
	w := NewWriter(Config{Brokers: brokers, Topic: "nav.validated"})
	defer w.Close()
	err := (NAVSink{W: w}).Write(ctx, batch(navLine("1", "2026-08-21", "10", "a.txt", 2)))
	if err == nil {
		t.Fatal("write to a missing topic succeeded")
	}
	if err := (NAVSink{W: w}).Write(ctx, batch()); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

func TestParseBrokers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a:9092", []string{"a:9092"}},
		{" a:9092, b:9093 ,,", []string{"a:9092", "b:9093"}},
	} {
		got := ParseBrokers(tc.in)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("ParseBrokers(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A failed write names how many messages failed and the first error once,
// not one copy per message, and stays classifiable: a message too large is
// not retried, a leader moving is.
func TestWriteErrorsSummarised(t *testing.T) {
	for _, c := range []struct {
		errs      kafkago.WriteErrors
		msg       string
		transient bool
	}{
		{kafkago.WriteErrors{nil, kafkago.MessageSizeTooLarge, kafkago.MessageSizeTooLarge},
			"kafka: publish 3 NAV events to t: 2 of 3 messages not written: " + kafkago.MessageSizeTooLarge.Error(), false},
		{kafkago.WriteErrors{kafkago.NotLeaderForPartition, kafkago.MessageSizeTooLarge},
			"kafka: publish 2 NAV events to t: 2 of 2 messages not written: " + kafkago.MessageSizeTooLarge.Error(), false},
		{kafkago.WriteErrors{kafkago.NotLeaderForPartition, nil},
			"kafka: publish 2 NAV events to t: 1 of 2 messages not written: " + kafkago.NotLeaderForPartition.Error(), true},
	} {
		err := classify(fmt.Errorf("kafka: publish %d NAV events to t: %w", len(c.errs), summarise(c.errs)))
		if err.Error() != c.msg {
			t.Errorf("message %q, want %q", err.Error(), c.msg)
		}
		var we kafkago.WriteErrors
		if !errors.As(err, &we) || len(we) != len(c.errs) {
			t.Errorf("%v: the WriteErrors are not reachable", err)
		}
		if got := pipelines.IsTransient(err); got != c.transient {
			t.Errorf("%v: transient %v, want %v", err, got, c.transient)
		}
	}
}
