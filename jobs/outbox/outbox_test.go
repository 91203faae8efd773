package outbox

import (
	"slices"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/sinks/postgres"
)

// The job relays to Kafka only with brokers and to ClickHouse only when
// facts are on; asking for a relay it cannot run is an error that says why.
func TestRelaysAndPipelines(t *testing.T) {
	cases := []struct {
		name string
		job  Job
		want []string
	}{
		{"nothing", Job{}, nil},
		{"facts only", Job{Facts: true}, []string{postgres.RelayFacts}},
		{"kafka only", Job{Brokers: []string{"k:9092"}}, []string{postgres.RelayKafka}},
		{"both, kafka first", Job{Brokers: []string{"k:9092"}, Facts: true}, []string{postgres.RelayKafka, postgres.RelayFacts}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.job.Relays(); !slices.Equal(got, c.want) {
				t.Fatalf("relays %v, want %v", got, c.want)
			}
			for _, r := range c.want {
				p, err := c.job.Pipeline(r, false)
				if err != nil {
					t.Fatalf("%s: %v", r, err)
				}
				if p.Name != "outbox-"+r {
					t.Errorf("pipeline %q for relay %s", p.Name, r)
				}
				p.Close() // built, never run
			}
		})
	}
	j := Job{BrokersEnv: "FUNDFLOW_KAFKA_BROKERS"}
	if _, err := j.Pipeline(postgres.RelayKafka, false); err == nil || !strings.Contains(err.Error(), "FUNDFLOW_KAFKA_BROKERS") {
		t.Fatalf("kafka relay without brokers: %v", err)
	}
	if _, err := j.Pipeline("carrier-pigeon", false); err == nil || !strings.Contains(err.Error(), "carrier-pigeon") {
		t.Fatalf("unknown relay: %v", err)
	}
}
