package commissions

import (
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

func d(s string) fund.Date {
	v, err := fund.ParseISODate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }
