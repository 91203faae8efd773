// Package moneytest holds what the money path's tests share (package
// ledger's and cmd/fundflow's end-to-end ones): Razorpay payment webhooks as
// the gateway sends them, and expected allotments computed independently of
// fund/ and ledger/rules, with big.Rat and the rules' published arithmetic.
package moneytest

import (
	"fmt"
	"math/big"
	"time"
)

// Payment is the part of a Razorpay payment webhook a test varies.
type Payment struct {
	ID, OrderID, Status, Currency string
	Paise                         int64
	At                            time.Time
	Event                         string // default "payment."+Status
}

// Body renders the payment as Razorpay sends it (the SDK fixture's shape).
func (p Payment) Body() []byte {
	if p.Currency == "" {
		p.Currency = "INR"
	}
	if p.Event == "" {
		p.Event = "payment." + p.Status
	}
	return []byte(fmt.Sprintf(`{"entity":"event","account_id":"acc_test","event":%q,"contains":["payment"],"payload":{"payment":{"entity":{"id":%q,"entity":"payment","amount":%d,"currency":%q,"status":%q,"order_id":"order_%s","method":"upi","captured":%v,"notes":{"order_id":%q},"created_at":%d}}},"created_at":%d}`,
		p.Event, p.ID, p.Paise, p.Currency, p.Status, p.OrderID, p.Status == "captured", p.OrderID, p.At.Unix()-5, p.At.Unix()))
}

// Rat parses a decimal string; it panics on anything else (test input).
func Rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// RoundRat rounds r (≥ 0) to scale decimals: half up, or down.
func RoundRat(r *big.Rat, scale int, halfUp bool) string {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(p))
	if halfUp {
		x.Add(x, big.NewRat(1, 2))
	}
	q := new(big.Int).Quo(x.Num(), x.Denom()) // floor for x ≥ 0
	return new(big.Rat).SetFrac(q, p).FloatString(scale)
}

// ExpectPurchase is the allotment the SEBI/Stamp Act arithmetic gives:
// duty = N × 0.005/100.005 to the nearest paisa, units = (N − duty)/NAV
// truncated to the units scale.
func ExpectPurchase(net, nav string, scale int) (duty, units string) {
	n := Rat(net)
	d := new(big.Rat).Mul(n, big.NewRat(5, 100005))
	duty = RoundRat(d, 2, true)
	inv := new(big.Rat).Sub(n, Rat(duty))
	units = RoundRat(new(big.Rat).Quo(inv, Rat(nav)), scale, false)
	return duty, units
}

// Paise is a rupee amount ("1000.50") in paise; it panics on a fraction of
// a paisa (test input).
func Paise(amount string) int64 {
	r := new(big.Rat).Mul(Rat(amount), big.NewRat(100, 1))
	if !r.IsInt() {
		panic(amount)
	}
	return r.Num().Int64()
}

// IST parses an RFC 3339 time ("2026-08-20T10:00:00+05:30"); it panics on
// anything else (test input).
func IST(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
