package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/api/console"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
)

// serve mounts the ops console on the query API's listener; a token from
// the command the demo prints signs in; replay is on when the config has a
// nav-ingest section (it writes through its sinks, as `fundflow quarantine
// replay` does) and off without one.
func TestServeMountsTheOpsConsole(t *testing.T) {
	const secret = "console-serve-test-secret-0123456789"
	t.Setenv("FUNDFLOW_JWT_SECRET", secret)
	// The token command make demo prints (with ${USER:-ops} filled in).
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "--role", "ops", "--sub", "ops-1", "--ttl", "8h"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out.String())
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		name, pipelines, want string
	}{
		{"with nav-ingest", strings.TrimPrefix(testkit.NAVIngestYAML(t.TempDir()), "\npipelines:\n"), "Replay every open row"},
		{"without nav-ingest", "", "Replay is off: the config has no pipelines.nav-ingest section"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			cfg, err := config.Parse("test.yaml", []byte("serve:\n  api:\n    addr: "+addr+"\npipelines:\n"+c.pipelines))
			if err != nil {
				t.Fatal(err)
			}
			d := testDeps(t, cfg)
			stop, err := startAPI(testkit.Ctx(t), d)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			base := "http://" + addr
			resp, err := noRedirect.Get(base + "/ops/")
			if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ops/login") {
				t.Fatalf("GET /ops/ without a session: %v %v", resp, err)
			}
			resp, err = noRedirect.PostForm(base+"/ops/login", url.Values{"token": {tok}, "next": {"/ops/quarantine"}})
			if err != nil || resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
				t.Fatalf("sign in: %v %v", resp, err)
			}
			req, _ := http.NewRequest("GET", base+"/ops/quarantine", nil)
			req.AddCookie(&http.Cookie{Name: console.CookieName, Value: tok})
			resp, err = noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), c.want) {
				t.Fatalf("quarantine page: %d, want it to say %q:\n%s", resp.StatusCode, c.want, body)
			}
		})
	}
}
