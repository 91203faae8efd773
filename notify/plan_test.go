package notify

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fundflow/fundflow/fund"
)

type fakeRM struct{}

func (fakeRM) Investor(_ context.Context, id string) (Investor, error) {
	if id != "INV1" {
		return Investor{}, ErrUnknownInvestor
	}
	return Investor{ID: "INV1", Name: "Asha Rao", Email: "asha@example.test", Phone: "+919800000001"}, nil
}
func (fakeRM) FolioInvestor(_ context.Context, folio string) (string, error) {
	if folio == "1234567890" {
		return "INV1", nil
	}
	return "", ErrUnknownInvestor
}
func (fakeRM) SchemeName(context.Context, string) (string, error) { return "Axis Bluechip Fund", nil }

type fakePrefs map[string]*Preference

func (f fakePrefs) Preference(_ context.Context, inv, typ string) (*Preference, error) {
	if p := f[inv+"/"+typ]; p != nil {
		return p, nil
	}
	return f[inv+"/*"], nil
}

const txPayload = `{"event_id":"tx-1","tx_id":1,"order_id":"O1","request_id":"R1","kind":"purchase","folio":"1234567890",
"investor_id":"INV1","scheme_code":"120465","nav_date":"2026-12-04","nav":"52.1234","units":"2368.467",
"amount":"123456.78","stamp_duty":"6.17","exit_load":"0","net_amount":"123450.61","placed_at":"","posted_at":""}`

func TestPlanTransaction(t *testing.T) {
	ts, err := LoadTemplates(Builtin())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC) // 11:30 IST, outside quiet hours
	p := Planner{Templates: ts, RM: fakeRM{}, Prefs: fakePrefs{"INV1/*": {InvestorID: "INV1", EventType: "*", Channels: []Channel{Email, SMS}}}, Now: func() time.Time { return now }}
	ns, dl, err := p.Plan(context.Background(), fund.OutboxEvent{EventID: "tx-1", Topic: fund.TopicTransactions, Payload: []byte(txPayload)})
	if err != nil || dl != nil {
		t.Fatalf("plan: %v %+v", err, dl)
	}
	if len(ns) != 2 || ns[0].Channel != Email || ns[1].Channel != SMS {
		t.Fatalf("notifications: %+v", ns)
	}
	e := ns[0]
	// 123456.78 → 1,23,456.78 (thousands 456, then lakh group 23, then 1).
	for _, want := range []string{"₹1,23,456.78", "₹1,23,450.61", "₹6.17", "₹52.1234", "2368.467", "Axis Bluechip Fund", "XXXXXX7890", "Asha Rao"} {
		if !strings.Contains(e.Body, want) {
			t.Errorf("email body lacks %q:\n%s", want, e.Body)
		}
	}
	if strings.Contains(e.Body, "1234567890") || strings.Contains(ns[1].Body, "1234567890") {
		t.Error("a message shows the full folio")
	}
	if e.Subject != "purchase confirmed: 2368.467 units of Axis Bluechip Fund" || e.Recipient != "asha@example.test" || e.Template != "transactions.completed.email@v1" {
		t.Errorf("email: %+v", e)
	}
	if ns[1].Recipient != "+919800000001" || !ns[1].NotBefore.Equal(now) {
		t.Errorf("sms: %+v", ns[1])
	}
}

func TestPlanDeadLetters(t *testing.T) {
	ts, err := LoadTemplates(Builtin())
	if err != nil {
		t.Fatal(err)
	}
	p := Planner{Templates: ts, RM: fakeRM{}, Prefs: fakePrefs{}}
	for _, c := range []struct {
		name, topic, payload, reason string
	}{
		{"unknown investor", fund.TopicTransactions, strings.Replace(txPayload, `"INV1"`, `"NOPE"`, 1), "unknown investor"},
		{"not json", fund.TopicTransactions, `{"event_id":`, "malformed event: unexpected end of JSON input"},
		{"missing field", fund.TopicTransactions, strings.Replace(txPayload, `"nav":"52.1234",`, ``, 1), "malformed event: nav: required"},
		{"bad amount", fund.TopicTransactions, strings.Replace(txPayload, `"123456.78"`, `"12x"`, 1), "malformed event: amount: "},
		{"unknown folio", fund.TopicOrderStatus, `{"event_id":"s-1","order_id":"O","folio":"999","status":"allotted","at":""}`, "unknown investor"},
		{"unknown topic", "nav.validated", `{}`, `no notification for topic "nav.validated"`},
	} {
		ns, dl, err := p.Plan(context.Background(), fund.OutboxEvent{EventID: "e", Topic: c.topic, Payload: []byte(c.payload)})
		if err != nil || len(ns) != 0 || dl == nil || !strings.HasPrefix(dl.Reason, c.reason) {
			t.Errorf("%s: got %v %+v %v, want dead letter %q", c.name, ns, dl, err, c.reason)
		}
	}
}

func TestPlanOptOutAndUrgent(t *testing.T) {
	ts, _ := LoadTemplates(Builtin())
	night := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC) // 23:30 IST
	prefs := fakePrefs{"INV1/orders.status": {InvestorID: "INV1", EventType: "orders.status", Channels: []Channel{SMS}, QuietStart: 1320, QuietEnd: 420}}
	p := Planner{Templates: ts, RM: fakeRM{}, Prefs: prefs, Now: func() time.Time { return night }}
	rejected := `{"event_id":"s-1","order_id":"O9","kind":"purchase","folio":"1234567890","scheme_code":"1","status":"rejected","reason":"payment failed","at":""}`
	ns, _, _ := p.Plan(context.Background(), fund.OutboxEvent{EventID: "s-1", Topic: fund.TopicOrderStatus, Payload: []byte(rejected)})
	if len(ns) != 1 || !ns[0].Urgent || !ns[0].NotBefore.Equal(night) {
		t.Fatalf("a rejected order is urgent and goes now: %+v", ns)
	}
	allotted := strings.Replace(rejected, `"rejected"`, `"allotted"`, 1)
	ns, _, _ = p.Plan(context.Background(), fund.OutboxEvent{EventID: "s-2", Topic: fund.TopicOrderStatus, Payload: []byte(allotted)})
	morning := time.Date(2026, 12, 6, 1, 30, 0, 0, time.UTC) // 07:00 IST
	if len(ns) != 1 || ns[0].Urgent || !ns[0].NotBefore.Equal(morning) {
		t.Fatalf("an allotted status waits for 07:00 IST: %+v", ns)
	}
	prefs["INV1/orders.status"].OptedOut = true
	if ns, dl, err := p.Plan(context.Background(), fund.OutboxEvent{EventID: "s-3", Topic: fund.TopicOrderStatus, Payload: []byte(allotted)}); len(ns) != 0 || dl != nil || err != nil {
		t.Fatalf("opted out: %v %v %v", ns, dl, err)
	}
	prefs["INV1/*"] = &Preference{InvestorID: "INV1", EventType: "*", OptedOut: true}
	ns, _, _ = p.Plan(context.Background(), fund.OutboxEvent{EventID: "tx-1", Topic: fund.TopicTransactions, Payload: []byte(txPayload)})
	if len(ns) != 1 || ns[0].Channel != Email {
		t.Fatalf("a transaction confirmation is regulatory: sent despite the opt-out: %+v", ns)
	}
}

func TestLoadTemplatesFails(t *testing.T) {
	good := func() fstest.MapFS {
		fs := fstest.MapFS{}
		for _, s := range Specs() {
			fs[s.Type+".email.v1.tmpl"] = &fstest.MapFile{Data: []byte("Subject: x\n\nhello")}
		}
		return fs
	}
	if _, err := LoadTemplates(good()); err != nil {
		t.Fatalf("the minimal set: %v", err)
	}
	for _, c := range []struct {
		name, file, text, want string
	}{
		{"field in a branch", "orders.status.sms.v2.tmpl", "{{if .Reason}}{{.Amount}}{{end}}", "orders.status.sms.v2.tmpl: field Amount is not in the OrderStatusData data"},
		{"field in the subject", "orders.status.email.v2.tmpl", "Subject: {{.PAN}}\n\nx", "field PAN is not in the OrderStatusData data"},
		{"no subject", "orders.status.email.v3.tmpl", "hello", `line 1: must start with "Subject: "`},
		{"unknown event", "nav.validated.email.v1.tmpl", "Subject: x\n\ny", `unknown event type "nav.validated"`},
		{"bad name", "orders.status.fax.v1.tmpl", "x", "name must be"},
		{"syntax", "orders.status.sms.v1.tmpl", "{{.Status", "unclosed action"},
	} {
		fs := good()
		fs[c.file] = &fstest.MapFile{Data: []byte(c.text)}
		_, err := LoadTemplates(fs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", c.name, err, c.want)
		}
	}
	fs := good()
	delete(fs, "orders.status.email.v1.tmpl")
	if _, err := LoadTemplates(fs); err == nil || !strings.Contains(err.Error(), "orders.status: no email template") {
		t.Errorf("no email template: %v", err)
	}
}

func TestRenderRefusesPAN(t *testing.T) {
	fs := fstest.MapFS{}
	for _, s := range Specs() {
		fs[s.Type+".email.v1.tmpl"] = &fstest.MapFile{Data: []byte("Subject: x\n\nhello")}
	}
	fs["orders.status.email.v1.tmpl"] = &fstest.MapFile{Data: []byte("Subject: x\n\nreason {{.Reason}}")}
	ts, err := LoadTemplates(fs)
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := ts.Lookup("orders.status", Email)
	if _, _, err := tm.Render(OrderStatusData{Reason: "PAN ABCDE1234F mismatch"}); err == nil || !strings.Contains(err.Error(), "shows a PAN") {
		t.Errorf("a PAN in the text: %v", err)
	}
	if _, _, err := tm.Render(OrderStatusData{Reason: "folio 1234567890"}, "1234567890"); err == nil || !strings.Contains(err.Error(), "unmasked") {
		t.Errorf("a full folio in the text: %v", err)
	}
}

// investors.changed (the KYC branch's contract): a bank account change is
// an urgent security notice by email and SMS, in quiet hours and despite an
// opt-out; an address change tells nothing; a minor's majority (issue 23)
// is a notice that the folios are stopped.
func TestPlanProfileChange(t *testing.T) {
	ts, err := LoadTemplates(Builtin())
	if err != nil {
		t.Fatal(err)
	}
	night := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC) // 23:30 IST
	prefs := fakePrefs{"INV1/*": {InvestorID: "INV1", EventType: "*", OptedOut: true, QuietStart: 1320, QuietEnd: 420}}
	p := Planner{Templates: ts, RM: fakeRM{}, Prefs: prefs, Now: func() time.Time { return night }}
	ev := `{"event_id":"investors.changed:INV1:7","investor_id":"INV1","change_seq":7,"fields":["bank_account","address"],
"fingerprints":{"bank_account":"ab12"},"kyc_status":"","channel":"api","effective_from":"2026-12-05T18:00:00Z","at":"2026-12-05T18:00:00.123Z"}`
	ns, dl, err := p.Plan(context.Background(), fund.OutboxEvent{EventID: "investors.changed:INV1:7", Topic: "investors.changed", Payload: []byte(ev)})
	if err != nil || dl != nil || len(ns) != 2 {
		t.Fatalf("plan: %v %+v %+v", err, dl, ns)
	}
	// 18:00 UTC = 23:30 IST on the 5th.
	if ns[0].Subject != "Your bank account changed" || !strings.Contains(ns[0].Body, "05 Dec 2026 23:30 IST") || !ns[0].NotBefore.Equal(night) || ns[1].Channel != SMS {
		t.Fatalf("notice: %+v", ns)
	}
	addr := strings.Replace(ev, `["bank_account","address"]`, `["address"]`, 1)
	if ns, dl, err := p.Plan(context.Background(), fund.OutboxEvent{EventID: "x", Topic: "investors.changed", Payload: []byte(addr)}); len(ns) != 0 || dl != nil || err != nil {
		t.Fatalf("an address change: %v %v %v", ns, dl, err)
	}
	// A minor turned 18 (the KYC gate's event: tax_status on the KRA
	// feed's channel): an urgent notice by email and SMS that the folios
	// are stopped until the investor's own KYC arrives.
	major := strings.NewReplacer(`["bank_account","address"]`, `["tax_status"]`, `"channel":"api"`, `"channel":"kra_feed"`).Replace(ev)
	ns, dl, err = p.Plan(context.Background(), fund.OutboxEvent{EventID: "m", Topic: "investors.changed", Payload: []byte(major)})
	if err != nil || dl != nil || len(ns) != 2 {
		t.Fatalf("majority: %v %+v %+v", err, dl, ns)
	}
	if ns[0].Subject != "You are 18: your folios need your own KYC" || !strings.Contains(ns[0].Body, "own KYC, PAN and bank account") ||
		!strings.Contains(ns[0].Body, "05 Dec 2026 23:30 IST") || strings.Contains(ns[0].Body, "call us at once") || ns[1].Channel != SMS ||
		!strings.Contains(ns[1].Body, "You are 18") {
		t.Fatalf("majority notice: %+v", ns)
	}
	// A tax status changed through the API is not a majority: nothing to tell.
	patched := strings.Replace(ev, `["bank_account","address"]`, `["tax_status"]`, 1)
	if ns, dl, err := p.Plan(context.Background(), fund.OutboxEvent{EventID: "p", Topic: "investors.changed", Payload: []byte(patched)}); len(ns) != 0 || dl != nil || err != nil {
		t.Fatalf("a tax status patch: %v %v %v", ns, dl, err)
	}
}
