package fund

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDateJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		D Date  `json:"d"`
		P *Date `json:"p"`
	}{D: NewDate(2024, time.March, 9)})
	if err != nil || string(b) != `{"d":"2024-03-09","p":null}` {
		t.Fatalf("%s %v", b, err)
	}
	var back struct{ D Date }
	if err := json.Unmarshal([]byte(`{"D":"2024-12-31"}`), &back); err != nil || back.D != NewDate(2024, time.December, 31) {
		t.Fatalf("%v %v", back, err)
	}
	for _, bad := range []string{`{"D":"31-12-2024"}`, `{"D":"2024-02-30"}`, `{"D":""}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
