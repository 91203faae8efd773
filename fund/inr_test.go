package fund

import (
	"math/big"
	"testing"
)

func TestFormatINR(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"0", "₹0.00"},
		{"5", "₹5.00"},
		{"999.5", "₹999.50"},
		{"1000", "₹1,000.00"},           // thousand: one comma
		{"99999.99", "₹99,999.99"},      // 99 thousand
		{"100000", "₹1,00,000.00"},      // one lakh: 1,00,000
		{"1234567.8", "₹12,34,567.80"},  // 12 lakh 34 thousand 567
		{"10000000", "₹1,00,00,000.00"}, // one crore
		{"123456789012.34", "₹1,23,45,67,89,012.34"},
		{"-2500.5", "-₹2,500.50"},
	} {
		if got := FormatINR(MustAmount(c.in)); got != c.want {
			t.Errorf("FormatINR(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

// GroupIndian against an independent route: peel the value with big.Int
// division by 1000 once, then by 100, and join.
func TestGroupIndianMatchesDivision(t *testing.T) {
	for _, s := range []string{"1", "12", "123", "1234", "12345", "123456", "1234567", "98765432109876543210"} {
		n, _ := new(big.Int).SetString(s, 10)
		var groups []string
		q, r := new(big.Int).QuoRem(n, big.NewInt(1000), new(big.Int))
		want := r.String()
		if q.Sign() > 0 {
			want = pad(r.String(), 3)
		}
		for q.Sign() > 0 {
			var r2 big.Int
			q.QuoRem(q, big.NewInt(100), &r2)
			if q.Sign() > 0 {
				groups = append([]string{pad(r2.String(), 2)}, groups...)
			} else {
				groups = append([]string{r2.String()}, groups...)
			}
		}
		for i := len(groups) - 1; i >= 0; i-- {
			want = groups[i] + "," + want
		}
		if got := GroupIndian(s); got != want {
			t.Errorf("GroupIndian(%s) = %q, want %q", s, got, want)
		}
	}
}

func pad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}
