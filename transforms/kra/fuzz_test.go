package kra

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fundflow/fundflow/fund/kyc"
)

// Any file: no panic; every row is either refused with a reason or has a
// valid PAN and (status files) a known status; raw lines are storable.
func FuzzParse(f *testing.F) {
	f.Add("APP_PAN_NO|APP_STATUS|APP_STATUSDT\nABCPE1234F|07|05-12-2026 10:30:00\n")
	f.Add("APP_PAN_NO,APP_STATUSDT,CVLKRA,CAMSKRA\nABCPE1234F,05-12-2026,05,07\n")
	f.Add("APP_PAN_NO|PAN_AADHAAR_LINK\nABCPE1234F|N\n")
	f.Add("APP_PAN_NO|APP_STATUS|APP_STATUSDT\n\x00|\xff|\n")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := NewParser(strings.NewReader(text))
		if err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			r, err := p.Next()
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			if !utf8.Valid(r.Raw) || strings.IndexByte(string(r.Raw), 0) >= 0 {
				t.Fatalf("raw line not storable: %q", r.Raw)
			}
			if r.Reason != "" {
				continue
			}
			if kyc.CheckPAN(r.PAN, "") != "" {
				t.Fatalf("good row with PAN %q", r.PAN)
			}
			if p.Kind() == KindStatus && r.Status == "" {
				t.Fatalf("good status row without a status: %+v", r)
			}
		}
	})
}
