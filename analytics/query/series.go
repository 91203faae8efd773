package query

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/readmodel"
)

// AUMSeries is the total AUM of aum_daily on each month end and on its last
// day ("Value", half-even to the paisa), with the net inflow of flows_daily
// summed from the first day to that day ("Invested"): the chart of
// `fundflow ch chart`.
func (s Service) AUMSeries(ctx context.Context) ([]readmodel.SeriesPoint, error) {
	rows, err := s.CH.Query(ctx, `SELECT date, toString(sum(aum)) FROM aum_daily FINAL
		WHERE date = addDays(toStartOfMonth(addMonths(date, 1)), -1) OR date = (SELECT max(date) FROM aum_daily)
		GROUP BY date ORDER BY date`)
	if err != nil {
		return nil, fmt.Errorf("analytics: aum series: %w", err)
	}
	var pts []readmodel.SeriesPoint
	for rows.Next() {
		var d time.Time
		var v string
		if err := rows.Scan(&d, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("analytics: aum series: %w", err)
		}
		x, err := decimal.NewFromString(v)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("analytics: aum series: %q: %w", v, err)
		}
		pts = append(pts, readmodel.SeriesPoint{Date: fund.DateOf(d), Value: x.RoundBank(fund.AmountScale)})
	}
	rows.Close()
	rows, err = s.CH.Query(ctx, `SELECT nav_date, toString(sum(net_inflow)) FROM flows_daily GROUP BY nav_date ORDER BY nav_date`)
	if err != nil {
		return nil, fmt.Errorf("analytics: flows series: %w", err)
	}
	defer rows.Close()
	cum, i := decimal.Zero, 0
	for rows.Next() {
		var d time.Time
		var v string
		if err := rows.Scan(&d, &v); err != nil {
			return nil, fmt.Errorf("analytics: flows series: %w", err)
		}
		x, err := decimal.NewFromString(v)
		if err != nil {
			return nil, fmt.Errorf("analytics: flows series: %q: %w", v, err)
		}
		for i < len(pts) && pts[i].Date.Before(fund.DateOf(d)) {
			pts[i].Invested = cum
			i++
		}
		cum = cum.Add(x)
	}
	for ; i < len(pts); i++ {
		pts[i].Invested = cum
	}
	return pts, rows.Err()
}
