package readmodel

import (
	"encoding/json"

	"github.com/shopspring/decimal"
)

// Money and average costs go out at their fixed scales ("29517.30", not
// shopspring's trimmed "29517.3"): the shallower fields of the wrappers
// below shadow the embedded ones in encoding/json.

func fixed(d decimal.Decimal, scale int32) string { return d.StringFixed(scale) }

func fixedPtr(d *decimal.Decimal, scale int32) *string {
	if d == nil {
		return nil
	}
	s := d.StringFixed(scale)
	return &s
}

// MarshalJSON writes the amounts with 2 decimals.
func (t LedgerTx) MarshalJSON() ([]byte, error) {
	type plain LedgerTx
	return json.Marshal(struct {
		plain
		Amount    string `json:"amount"`
		StampDuty string `json:"stamp_duty"`
		ExitLoad  string `json:"exit_load"`
		Net       string `json:"net_amount"`
	}{plain(t), fixed(t.Amount, 2), fixed(t.StampDuty, 2), fixed(t.ExitLoad, 2), fixed(t.Net, 2)})
}

// MarshalJSON writes the amounts with 2 decimals, the average cost with 4.
func (h Holding) MarshalJSON() ([]byte, error) {
	type plain Holding
	return json.Marshal(struct {
		plain
		Invested string  `json:"invested"`
		AvgCost  string  `json:"average_cost"`
		Value    *string `json:"value"`
		Gain     *string `json:"gain"`
	}{plain(h), fixed(h.Invested, 2), fixed(h.AvgCost, 4), fixedPtr(h.Value, 2), fixedPtr(h.Gain, 2)})
}

// MarshalJSON writes the totals with 2 decimals.
func (p Portfolio) MarshalJSON() ([]byte, error) {
	type plain Portfolio
	return json.Marshal(struct {
		plain
		Invested string `json:"invested"`
		Value    string `json:"value"`
		Gain     string `json:"gain"`
	}{plain(p), fixed(p.Invested, 2), fixed(p.Value, 2), fixed(p.Gain, 2)})
}

// MarshalJSON writes the amount with 2 decimals.
func (p PaymentLink) MarshalJSON() ([]byte, error) {
	type plain PaymentLink
	return json.Marshal(struct {
		plain
		Amount string `json:"amount"`
	}{plain(p), fixed(p.Amount, 2)})
}
