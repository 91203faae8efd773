package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/jobs/notifyjob"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// topicUse is one reason a Kafka topic must exist: who writes or reads it.
type topicUse struct {
	topic, use string
}

// configTopics lists the topics cfg's pipelines write or read when Kafka is
// configured. A missing topic stops the outbox relay (every later event
// waits behind it) or leaves a consumer reading nothing, so it is a failure,
// not a warning; brokers that auto-create topics would hide a typo instead.
func configTopics(cfg *config.Config) []topicUse {
	var us []topicUse
	p := cfg.Pipelines
	if p.Payments != nil || p.Orders != nil || p.Allocate != nil {
		for _, t := range []string{fund.TopicTransactions, fund.TopicOrderStatus, fund.TopicPaymentStatus} {
			us = append(us, topicUse{t, "the outbox relay writes the ledger's events to it"})
		}
	}
	if p.Orders != nil {
		us = append(us, topicUse{p.Orders.Topic, "pipelines.orders reads orders from it"})
	}
	if p.NAVIngest != nil {
		us = append(us, topicUse{p.NAVIngest.KafkaTopic, "pipelines.nav-ingest writes validated NAVs to it"})
	}
	if p.KRA != nil && p.KRA.InvestorTopic != "" {
		us = append(us, topicUse{p.KRA.InvestorTopic, "pipelines.kra.investor_topic: serve reads the investor master from it"})
	}
	if cfg.Fraud != nil {
		for _, t := range fraudeval.Topics(cfg.Fraud) {
			us = append(us, topicUse{t, "fraud evaluation reads it"})
		}
	}
	if cfg.Notify != nil {
		for _, t := range notifyjob.Topics() {
			us = append(us, topicUse{t, "the notification planner reads it"})
		}
	}
	return us
}

// pendingOutboxTopics is the topics of the events still waiting for the
// relay (the partial index outbox_unpublished keeps this cheap): whatever
// the config says, these must exist for the relay to move on.
func pendingOutboxTopics(ctx context.Context, url string) ([]topicUse, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pool, err := postgres.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	rows, err := pool.Query(ctx, `SELECT topic, count(*) FROM outbox WHERE published_at IS NULL GROUP BY topic ORDER BY topic`)
	if err != nil {
		return nil, fmt.Errorf("outbox topics: %w", err)
	}
	defer rows.Close()
	var us []topicUse
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return nil, fmt.Errorf("outbox topics: %w", err)
		}
		us = append(us, topicUse{t, fmt.Sprintf("%d outbox event(s) wait to be relayed to it", n)})
	}
	return us, rows.Err()
}

// brokerTopics asks broker for the topics it has.
func brokerTopics(ctx context.Context, broker string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", broker)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl) //nolint:errcheck
	}
	ps, err := conn.ReadPartitions() // no names: every topic's partitions
	if err != nil {
		return nil, fmt.Errorf("%s: list topics: %w", broker, err)
	}
	have := make(map[string]bool, len(ps))
	for _, p := range ps {
		have[p.Topic] = true
	}
	return have, nil
}

// topicFindings checks that every topic in uses exists on the cluster
// behind broker: one finding per missing topic, with every reason it is
// needed, or one ok.
func topicFindings(ctx context.Context, broker string, uses []topicUse) []finding {
	if len(uses) == 0 {
		return nil
	}
	have, err := brokerTopics(ctx, broker)
	if err != nil {
		return []finding{{Status: statusFail, Check: "kafka topics", Detail: err.Error(), Fix: "start the broker or correct the brokers variable"}}
	}
	why := map[string][]string{}
	for _, u := range uses {
		if u.topic != "" && !have[u.topic] && !slices.Contains(why[u.topic], u.use) {
			why[u.topic] = append(why[u.topic], u.use)
		}
	}
	if len(why) == 0 {
		return []finding{{Status: statusOK, Check: "kafka topics", Detail: fmt.Sprintf("all %d topic(s) the config and the outbox use exist", countTopics(uses))}}
	}
	missing := make([]string, 0, len(why))
	for t := range why {
		missing = append(missing, t)
	}
	sort.Strings(missing)
	fs := make([]finding, 0, len(missing))
	for _, t := range missing {
		fs = append(fs, finding{Status: statusFail, Check: "kafka topic " + t, Detail: "missing: " + strings.Join(why[t], "; "),
			Fix: fmt.Sprintf("create it, e.g. kafka-topics.sh --bootstrap-server %s --create --topic %s --partitions N --replication-factor R", broker, t)})
	}
	return fs
}

func countTopics(uses []topicUse) int {
	seen := map[string]bool{}
	for _, u := range uses {
		if u.topic != "" {
			seen[u.topic] = true
		}
	}
	return len(seen)
}
