package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

func TestCheckDistribute(t *testing.T) {
	cases := []struct {
		amount, units, want string
	}{
		// Σ 10.75: 139.534…, 209.302…, 651.162… floor to 999.99; the paisa
		// goes to the largest dropped part (.0048… of the first).
		{"1000.00", "1.5,2.25,7", `{"shares": ["139.54", "209.30", "651.16"]}` + "\n"},
		// 333.333… each: the tie to the first listed.
		{"1000.00", "1,1,1", `{"shares": ["333.34", "333.33", "333.33"]}` + "\n"},
		{"0.01", "0,5", `{"shares": ["0.00", "0.01"]}` + "\n"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"check", "distribute", "--amount", c.amount, "--units", c.units}, &out, io.Discard); err != nil {
			t.Fatalf("%s over %s: %v", c.amount, c.units, err)
		}
		if out.String() != c.want {
			t.Errorf("%s over %s: %q, want %q", c.amount, c.units, out.String(), c.want)
		}
	}
}

func TestCheckDistributeBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--amount", "1000.001", "--units", "1"}, "--amount"},
		{[]string{"--amount", "-5.00", "--units", "1"}, "--amount"},
		{[]string{"--amount", "1e3", "--units", "1"}, "--amount"},
		{[]string{"--amount", "10.00", "--units", "0,0"}, "--units"}, // zero units: refused
		{[]string{"--amount", "10.00", "--units", "1,-1"}, "--units"},
		{[]string{"--amount", "10.00", "--units", "1,,2"}, "--units"},
		{[]string{"--amount", "10.00"}, "--units"}, // kong's own missing-flag error
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"check", "distribute"}, c.args...), &out, &out)
		if err == nil || (len(c.args) == 4 && !isExit(err, 2)) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want a one-line message naming %s", c.args, err, c.want)
		}
		if strings.Contains(out.String(), "shares") {
			t.Errorf("%v printed %q", c.args, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "distribute", "--help"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "largest remainder") {
		t.Errorf("--help: %v\n%s", err, out.String())
	}
}
