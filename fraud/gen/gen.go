// Package gen synthesises the fraud evaluation's input: a stream of
// investors.changed, orders.status (placement statuses, with the
// investor, value and holdings the ledger would fill in) and
// payments.status messages for many investors doing ordinary things (SIP
// purchases, small redemptions, an occasional profile change or failed
// payment), with fraud patterns planted in it and listed in a truth file:
// account takeovers, mules, round trips, card testing, structuring and
// redemption bursts. The ordinary traffic stays clear of the shipped
// rules' thresholds by construction (see the comments of each part), so
// the shipped rules must raise exactly the truth's alerts.
package gen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fund"
)

// Options say what to generate.
type Options struct {
	Seed      uint64
	Investors int       // ordinary investors; default 200
	Days      int       // default 30
	Start     time.Time // the first day (UTC midnight); default 2026-11-01
	// Plant is how many of each pattern to plant; default 2 (0 with Clean).
	Plant int
	Clean bool // no planted patterns: the stream must raise no alert
	// Tag goes into every investor, order and payment id, so two streams
	// with different tags share no id (a second month on the same topics).
	Tag string
}

// Message is one message of the stream, as produced to Kafka (key: the
// investor, so one investor's messages stay in order).
type Message struct {
	Topic string          `json:"topic"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	At    time.Time       `json:"at"`
}

// Truth is one alert the shipped rules must raise.
type Truth struct {
	Pattern  string `json:"pattern"` // account_takeover, mule, round_trip, card_testing, structuring, velocity
	RuleID   string `json:"rule_id"`
	AlertID  string `json:"alert_id"`
	Investor string `json:"investor"`
	Day      string `json:"day"` // the triggering event's UTC date
}

// Stream is a generated stream.
type Stream struct {
	Messages []Message // in time order
	Truth    []Truth
}

type gen struct {
	o    Options
	r    *rand.Rand
	msgs []Message
	tr   []Truth
	seq  map[string]int64       // investors.changed change_seq per investor
	hold map[string]fund.Amount // holdings value per investor
	n    int                    // order/payment counter
}

// Generate makes the stream.
func Generate(o Options) (*Stream, error) {
	if o.Investors == 0 {
		o.Investors = 200
	}
	if o.Days == 0 {
		o.Days = 30
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Plant == 0 && !o.Clean {
		o.Plant = 2
	}
	if o.Clean {
		o.Plant = 0
	}
	if o.Investors < 1 || o.Days < 10 || o.Plant < 0 {
		return nil, fmt.Errorf("gen fraud: at least 1 investor and 10 days (the patterns need room), got %d and %d", o.Investors, o.Days)
	}
	g := &gen{o: o, r: rand.New(rand.NewPCG(o.Seed, 0x66726175)), seq: map[string]int64{}, hold: map[string]fund.Amount{}}
	for i := range o.Investors {
		g.ordinary(fmt.Sprintf("INV%s%06d", g.o.Tag, i+1))
	}
	for p := range o.Plant {
		g.plant(p)
	}
	slices.SortStableFunc(g.msgs, func(a, b Message) int { return a.At.Compare(b.At) })
	return &Stream{Messages: g.msgs, Truth: g.tr}, nil
}

// fp is a stand-in keyed fingerprint: unique per (field, value).
func fp(field, value string) string {
	h := sha256.Sum256([]byte("gen|" + field + "|" + value))
	return hex.EncodeToString(h[:16])
}

func (g *gen) at(day int, minute int) time.Time {
	return g.o.Start.AddDate(0, 0, day).Add(time.Duration(minute) * time.Minute)
}

func (g *gen) add(topic, key string, at time.Time, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	g.msgs = append(g.msgs, Message{Topic: topic, Key: key, Value: b, At: at})
	var id struct {
		EventID string `json:"event_id"`
	}
	json.Unmarshal(b, &id) //nolint:errcheck // we just marshalled it
	return id.EventID
}

func (g *gen) change(inv string, at time.Time, fields map[string]string) string {
	g.seq[inv]++
	var fs []string
	fps := map[string]string{}
	for f, v := range fields {
		fs = append(fs, f)
		fps[f] = fp(f, v)
	}
	slices.Sort(fs)
	return g.add(fraud.TopicInvestorsChanged, inv, at, fraud.InvestorChanged{
		EventID: fmt.Sprintf("investors.changed:%s:%d", inv, g.seq[inv]), InvestorID: inv, ChangeSeq: g.seq[inv],
		Fields: fs, Fingerprints: fps, Channel: "api", EffectiveFrom: at.Format(time.RFC3339), At: at.Format(time.RFC3339Nano)})
}

func (g *gen) order(inv, kind string, at time.Time, value fund.Amount) string {
	g.n++
	id := fmt.Sprintf("ORD%s%08d", g.o.Tag, g.n)
	status := "awaiting_payment"
	if kind == "redemption" {
		status = "pending_nav"
	}
	before := g.hold[inv]
	if kind == "purchase" {
		g.hold[inv] = before.Add(value)
	} else {
		g.hold[inv] = before.Sub(value)
	}
	holdings := before
	if kind == "purchase" {
		holdings = g.hold[inv]
	}
	return g.add(fund.TopicOrderStatus, inv, at, fraud.OrderPlaced{
		OrderStatusChanged: fund.OrderStatusChanged{EventID: fund.TopicOrderStatus + ":" + id + ":" + status, OrderID: id, RequestID: "REQ" + id[3:],
			Kind: kind, Folio: "F" + inv[3:], SchemeCode: "100001", Status: status, At: at.Format(time.RFC3339Nano)},
		InvestorID: inv, Value: value.String(), Holdings: holdings.String()})
}

func (g *gen) payment(inv, status string, at time.Time, amount fund.Amount) string {
	g.n++
	return g.add(fraud.TopicPayments, inv, at, fraud.PaymentStatus{EventID: fmt.Sprintf("payments.status:pay_%s%08d:%s", g.o.Tag, g.n, status),
		PaymentID: fmt.Sprintf("pay_%s%08d", g.o.Tag, g.n), OrderID: fmt.Sprintf("ORD%s%08d", g.o.Tag, g.n), InvestorID: inv, FolioNo: "F" + inv[3:],
		Status: status, Amount: amount.String(), At: at.Format(time.RFC3339Nano)})
}

func (g *gen) rupees(lo, hi int) fund.Amount {
	return fund.AmountFromPaise(int64(lo+g.r.IntN(hi-lo+1)) * 100)
}

// pct is p % of a, to the paisa, rounded down (exact: paise*p/100).
func pct(a fund.Amount, p int) fund.Amount { return fund.AmountFromPaise(a.Paise() * int64(p) / 100) }

func (g *gen) truth(pattern, rule, eventID, inv string, at time.Time) {
	g.tr = append(g.tr, Truth{Pattern: pattern, RuleID: rule, AlertID: fraud.AlertID(rule, eventID), Investor: inv, Day: at.Format("2006-01-02")})
}

// ordinary: holdings 1-20 lakh; a SIP purchase of 1,000-10,000 a month
// (never in the structuring band, never 80 % of the holdings); at most one
// redemption a month of 1-30 % of the holdings (under the takeover rule's
// 50 %, far under the round trip's 80 % of purchases that are 80 % of the
// holdings); a profile change to a value of its own now and then, never
// within 8 days before that month's redemption; one failed payment
// sometimes (card testing needs 6 in an hour).
func (g *gen) ordinary(inv string) {
	g.hold[inv] = g.rupees(100000, 2000000)
	g.change(inv, g.at(0, g.r.IntN(60)), map[string]string{"bank_account": "acct-" + inv, "mobile": "mob-" + inv, "email": inv + "@mail"})
	sipDay := 1 + g.r.IntN(27)
	for month := 0; month*30 < g.o.Days; month++ {
		d := month*30 + sipDay
		if d < g.o.Days {
			amt := g.rupees(1000, 10000)
			if g.r.IntN(10) == 0 {
				g.payment(inv, "failed", g.at(d, 600), amt)
			}
			g.order(inv, "purchase", g.at(d, 601+g.r.IntN(60)), amt)
			g.payment(inv, "captured", g.at(d, 700), amt)
		}
		redDay := month*30 + 15 + g.r.IntN(14)
		if g.r.IntN(3) == 0 && redDay < g.o.Days {
			g.order(inv, "redemption", g.at(redDay, 300+g.r.IntN(600)), pct(g.hold[inv], 1+g.r.IntN(30)))
		}
		// a change lands after the redemption window (day 1..7 of the month
		// and the redemption comes on day 15 or later): 9+ days apart
		if g.r.IntN(6) == 0 {
			cd := month*30 + 1 + g.r.IntN(5)
			if cd < g.o.Days {
				field := []string{"mobile", "email", "bank_account"}[g.r.IntN(3)]
				g.change(inv, g.at(cd, g.r.IntN(1000)), map[string]string{field: fmt.Sprintf("%s-new-%d-%s", field, month, inv)})
			}
		}
	}
}

// plant adds one of each pattern, each on investors of its own.
func (g *gen) plant(p int) {
	base := 2 + g.r.IntN(g.o.Days-9) // room for a week after
	id := func(kind string, i int) string { return fmt.Sprintf("%s%s%d-%d", kind, g.o.Tag, p, i) }

	// account takeover: the bank account changes to the fraudster's, then
	// 70-100 % of the holdings is redeemed 1-5 days later.
	inv := id("ATO", 0)
	g.hold[inv] = g.rupees(200000, 3000000)
	g.change(inv, g.at(0, 5), map[string]string{"bank_account": "acct-" + inv, "mobile": "mob-" + inv})
	g.change(inv, g.at(base, 100), map[string]string{"bank_account": "fraud-acct-" + inv})
	rd := g.at(base+1+g.r.IntN(5), 200)
	ev := g.order(inv, "redemption", rd, pct(g.hold[inv], 70+g.r.IntN(31)))
	g.truth("account_takeover", "ato-redemption", ev, inv, rd)

	// mule: three investors move their bank account to one account within
	// two days; the third is the alert (more than 2).
	mule := "mule-acct-" + id("M", 0)
	for i := range 3 {
		inv := id("MULE", i)
		g.hold[inv] = g.rupees(100000, 500000)
		at := g.at(base+i, 300+i)
		ev := g.change(inv, at, map[string]string{"bank_account": mule})
		if i == 2 {
			g.truth("mule", "mule-bank", ev, inv, at)
		}
	}

	// round trip: a new investor buys 2-5 lakh and redeems 90-100 % of it
	// within two days.
	inv = id("RT", 0)
	amt := g.rupees(200000, 500000)
	g.order(inv, "purchase", g.at(base, 400), amt)
	g.payment(inv, "captured", g.at(base, 410), amt)
	rd = g.at(base+1+g.r.IntN(2), 100)
	ev = g.order(inv, "redemption", rd, pct(amt, 90+g.r.IntN(11)))
	g.truth("round_trip", "round-trip", ev, inv, rd)

	// card testing: 6-10 failed payments of 1-10 rupees, a few minutes
	// apart; the 6th is the alert (more than 5 in an hour), the rest too
	// few for another.
	inv = id("CARD", 0)
	n := 6 + g.r.IntN(5)
	for i := range n {
		at := g.at(base, 500+3*i)
		ev := g.payment(inv, "failed", at, g.rupees(1, 10))
		if i == 5 {
			g.truth("card_testing", "card-testing", ev, inv, at)
		}
	}

	// structuring: three purchases of 45,000-49,999 within 9 days.
	inv = id("STRUCT", 0)
	g.hold[inv] = g.rupees(100000, 500000)
	for i := range 3 {
		at := g.at(base+3*i, 600)
		ev := g.order(inv, "purchase", at, g.rupees(45000, 49999))
		if i == 2 {
			g.truth("structuring", "structuring", ev, inv, at)
		}
	}

	// a redemption burst: four redemptions of 2 % each in one morning.
	inv = id("VEL", 0)
	g.hold[inv] = g.rupees(500000, 1000000)
	for i := range 4 {
		at := g.at(base, 120+10*i)
		ev := g.order(inv, "redemption", at, pct(g.hold[inv], 2))
		if i == 3 {
			g.truth("velocity", "redemption-velocity", ev, inv, at)
		}
	}
}

// WriteMessages writes the stream as JSON lines.
func (s *Stream) WriteMessages(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, m := range s.Messages {
		if err := enc.Encode(m); err != nil {
			return err
		}
	}
	return nil
}

// WriteTruth writes the truth as JSON lines.
func (s *Stream) WriteTruth(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, t := range s.Truth {
		if err := enc.Encode(t); err != nil {
			return err
		}
	}
	return nil
}
