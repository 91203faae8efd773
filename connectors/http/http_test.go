package http

import (
	"os"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/testkit"
)

// The fetch itself (conditional GET, redirects, error bodies, timeouts) is
// tested end to end through nav-ingest in cmd/fundflow, with Postgres as the
// State; these are the pieces that need no server.

func TestNewNameDescribe(t *testing.T) {
	for _, tc := range []struct {
		url, name, describe string
		bad                 bool
	}{
		{url: "https://portal.amfiindia.com/spages/NAVAll.txt", name: "NAVAll.txt", describe: "https://portal.amfiindia.com/spages/NAVAll.txt"},
		{url: "https://ops:s3cret@feeds.example.com/nav/NAVAll.txt?day=1", name: "NAVAll.txt", describe: "https://feeds.example.com/nav/NAVAll.txt?day=1"},
		{url: "http://127.0.0.1:8080/", name: "127.0.0.1:8080", describe: "http://127.0.0.1:8080/"},
		{url: "ftp://amfi/NAVAll.txt", bad: true},
		{url: "portal.amfiindia.com/spages/NAVAll.txt", bad: true},
		{url: "https:///NAVAll.txt", bad: true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			s, err := New("nav-ingest", tc.url, nil, Options{})
			if tc.bad {
				if err == nil {
					t.Fatalf("New(%q) accepted a URL that is not http(s)", tc.url)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name() != tc.name || s.Describe() != tc.describe {
				t.Fatalf("name %q describe %q, want %q and %q", s.Name(), s.Describe(), tc.name, tc.describe)
			}
			if strings.Contains(s.stream(), "s3cret") {
				t.Fatalf("the state key %q carries the password", s.stream())
			}
		})
	}
}

// An error response is described by what a person would recognise: the
// page's title for HTML (both real AMFI error bodies), else its start.
func TestDescribeBody(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(testkit.Fixture(t, "amfi/navall/"+name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"nginx 404", read("NAVAll_error_2025-09-14_nginx-404.html"), `HTML page titled "404 Not Found"`},
		{"document moved", read("NAVAll_error_2025-09-16_document-moved.html"), `HTML page titled "Document Moved"`},
		{"empty", nil, "empty body"},
		{"blank", []byte(" \r\n\t"), "empty body"},
		{"text", []byte("Service\r\nUnavailable"), `body "Service Unavailable"`},
		{"long text", []byte(strings.Repeat("x", 300)), `body "` + strings.Repeat("x", 200) + `…"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeBody(tc.body); got != tc.want {
				t.Fatalf("describeBody = %s, want %s", got, tc.want)
			}
		})
	}
}
