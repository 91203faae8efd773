package benchkit

import (
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{0.75, 0.5}, 0.625},
		{[]float64{3, 1, 2}, 2},
		{[]float64{0.625, 0.25, 0.5, 0.375}, 0.4375},
		{[]float64{5, 5, 1, 9, 5}, 5},
	} {
		in := slices.Clone(c.in)
		if got := Median(in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("Median(%v) reordered its input to %v", c.in, in)
		}
	}
}
