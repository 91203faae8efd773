package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/feedstore"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/pipelines"
)

// The HTTP source is tested against net/http/httptest serving the real
// fixture bytes: the wire format of a real file server (http.ServeContent
// answers conditional requests the way Go's and most file servers do).

func httpConfig(t *testing.T, url, extra string) *config.Config {
	cfg, err := config.Parse("test.yaml", []byte(`
pipelines:
  nav-ingest:
    source:
      kind: http
      url: `+url+`
`+extra+`
    batch_size: 1000
    max_reject_rate: 0.5
    # Files years apart carry stale rows days from each other's NAVs; these
    # tests count what arrives, so the jump rule is switched off.
    jump_thresholds: {liquid: "1000", debt: "1000", other: "1000"}
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// navServer serves one "NAVAll.txt" whose bytes and validators the test
// changes, and records what each request asked for.
type navServer struct {
	mu       sync.Mutex
	body     []byte
	etag     string
	modified time.Time
	log      []seen
}

type seen struct {
	path, ifNoneMatch, ifModifiedSince string
	status                             int
}

func (s *navServer) set(body []byte, etag string, modified time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag, s.modified = body, etag, modified
}

func (s *navServer) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.log...)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func (s *navServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, etag, mod := s.body, s.etag, s.modified
	s.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	w.Header().Set("Content-Type", "text/plain")
	http.ServeContent(rec, r, "NAVAll.txt", mod, bytes.NewReader(body))
	s.mu.Lock()
	s.log = append(s.log, seen{r.URL.Path, r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since"), rec.status})
	s.mu.Unlock()
}

func readFixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile(testkit.Fixture(t, "amfi/navall/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runNAV(t *testing.T, d *deps) (pipelines.Stats, error) {
	t.Helper()
	ctx := testkit.Ctx(t)
	p, err := navIngest(ctx, d)
	if err != nil {
		return pipelines.Stats{}, err
	}
	return p.Run(ctx)
}

// A conditional GET: the first poll loads the file; the next ones send the
// validators back, get 304 and load nothing; a new file (new ETag) loads.
// Both validators are tested: a server with an ETag, and one with only
// Last-Modified.
func TestHTTPSourceConditionalGet(t *testing.T) {
	for _, tc := range []struct {
		name     string
		etag     string
		wantINM  string // If-None-Match the second poll must send
		wantIMS  bool   // whether it must send If-Modified-Since
		modified time.Time
	}{
		{"etag", `"nav-2019-06-21"`, `"nav-2019-06-21"`, false, time.Time{}},
		{"last-modified", "", "", true, time.Date(2019, 6, 21, 23, 5, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, second := "NAVAll_2019-06-21.txt", "NAVAll_2023-08-11.txt"
			srv := &navServer{}
			srv.set(readFixture(t, first), tc.etag, tc.modified)
			ts := httptest.NewServer(srv)
			defer ts.Close()
			d := testDeps(t, httpConfig(t, ts.URL+"/spages/NAVAll.txt", ""))

			want := testkit.CountNAVFile(t, testkit.Fixture(t, "amfi/navall/"+first))
			st, err := runNAV(t, d)
			if err != nil {
				t.Fatal(err)
			}
			if int(st.In) != want.DataLines || int(st.Out) != want.Valid {
				t.Fatalf("first poll: in=%d out=%d, want %d and %d", st.In, st.Out, want.DataLines, want.Valid)
			}
			if got := count(t, d, `SELECT count(*) FROM navs`); got != len(want.Keys) {
				t.Fatalf("navs = %d, want %d", got, len(want.Keys))
			}

			st, err = runNAV(t, d)
			if err != nil || st.In != 0 {
				t.Fatalf("second poll read %d records (err %v), want a 304 and nothing", st.In, err)
			}
			reqs := srv.requests()
			last := reqs[len(reqs)-1]
			if last.status != http.StatusNotModified || last.ifNoneMatch != tc.wantINM || (last.ifModifiedSince != "") != tc.wantIMS {
				t.Fatalf("second request %+v: want 304 with If-None-Match %q, If-Modified-Since sent=%v", last, tc.wantINM, tc.wantIMS)
			}
			if reqs[0].ifNoneMatch != "" || reqs[0].ifModifiedSince != "" {
				t.Fatalf("first request was conditional: %+v", reqs[0])
			}

			// The next day's file.
			srv.set(readFixture(t, second), strings.ReplaceAll(tc.etag, "2019-06-21", "2023-08-11"), tc.modified.AddDate(4, 0, 0))
			want2 := testkit.CountNAVFile(t, testkit.Fixture(t, "amfi/navall/"+second))
			st, err = runNAV(t, d)
			// Its stale rows that the first file gave as they are (a wound-up
			// scheme's last NAV) are skipped as stored: written or skipped,
			// every valid row is accounted for, and navs has both files' keys.
			if err != nil || int(st.Out+st.Skipped) != want2.Valid || st.Skipped == 0 {
				t.Fatalf("third poll wrote %d and skipped %d as stored (err %v), want %d in all, some skipped", st.Out, st.Skipped, err, want2.Valid)
			}
			keys := map[string]bool{}
			for k := range want.Keys {
				keys[k] = true
			}
			for k := range want2.Keys {
				keys[k] = true
			}
			if got := count(t, d, `SELECT count(*) FROM navs`); got != len(keys) {
				t.Fatalf("navs = %d, want %d (both files' keys)", got, len(keys))
			}
			if got := count(t, d, `SELECT count(*) FROM ingested_files WHERE status = 'done'`); got != 2 {
				t.Fatalf("files done = %d, want 2", got)
			}
		})
	}
}

// A fetch whose load never finished (a crash between the GET and the last
// commit) must not be answered "not modified" next time: the validators go
// out only once the body they belong to is done.
func TestHTTPSourceRefetchesAnUnfinishedLoad(t *testing.T) {
	ctx := testkit.Ctx(t)
	srv := &navServer{}
	srv.set(readFixture(t, "NAVAll_2026-08-21_8col-plan-option.txt"), `"v1"`, time.Time{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	d := testDeps(t, httpConfig(t, ts.URL+"/NAVAll.txt", ""))

	// Poll and fetch, then "crash": the body is fetched and its validators
	// stored, but nothing is loaded.
	store, err := feedstore.Open(ctx, navingest.Name, d.cfg.Pipelines.NAVIngest.Source, d.pg, d.log)
	if err != nil {
		t.Fatal(err)
	}
	if files, err := store.List(ctx); err != nil || len(files) != 1 {
		t.Fatalf("list = %v, %v", files, err)
	}

	want := testkit.CountNAVFile(t, testkit.Fixture(t, "amfi/navall/NAVAll_2026-08-21_8col-plan-option.txt"))
	st, err := runNAV(t, d)
	if err != nil || int(st.Out) != want.Valid {
		t.Fatalf("after the crash: wrote %d (err %v), want %d", st.Out, err, want.Valid)
	}
	reqs := srv.requests()
	if len(reqs) != 2 || reqs[1].ifNoneMatch != "" || reqs[1].status != 200 {
		t.Fatalf("requests %+v: the poll after an unfinished load must be unconditional", reqs)
	}
	// Now it is done, the validators go out.
	if st, err := runNAV(t, d); err != nil || st.In != 0 {
		t.Fatalf("poll after the load: in=%d err=%v", st.In, err)
	}
	if reqs := srv.requests(); reqs[2].ifNoneMatch != `"v1"` || reqs[2].status != http.StatusNotModified {
		t.Fatalf("third request %+v, want a conditional 304", reqs[2])
	}
}

// Redirects are followed (AMFI moved NAVAll.txt between hosts), up to a limit.
func TestHTTPSourceRedirects(t *testing.T) {
	srv := &navServer{}
	srv.set(readFixture(t, "NAVAll_2026-08-18_last-6col.txt"), `"r1"`, time.Time{})
	mux := http.NewServeMux()
	mux.Handle("/spages/NAVAll.txt", srv)
	mux.Handle("/NAVAll.txt", http.RedirectHandler("/amfi/NAVAll.txt", http.StatusMovedPermanently))
	mux.Handle("/amfi/NAVAll.txt", http.RedirectHandler("/spages/NAVAll.txt", http.StatusFound))
	for i := range 10 {
		mux.Handle(fmt.Sprintf("/loop%d", i), http.RedirectHandler(fmt.Sprintf("/loop%d", (i+1)%10), http.StatusMovedPermanently))
	}
	ts := httptest.NewServer(mux)
	defer ts.Close()

	t.Run("chain of two", func(t *testing.T) {
		d := testDeps(t, httpConfig(t, ts.URL+"/NAVAll.txt", ""))
		want := testkit.CountNAVFile(t, testkit.Fixture(t, "amfi/navall/NAVAll_2026-08-18_last-6col.txt"))
		st, err := runNAV(t, d)
		if err != nil || int(st.Out) != want.Valid {
			t.Fatalf("wrote %d (err %v), want %d", st.Out, err, want.Valid)
		}
		// The validators of the final response are used on the next poll.
		if st, err := runNAV(t, d); err != nil || st.In != 0 {
			t.Fatalf("second poll in=%d err=%v", st.In, err)
		}
		reqs := srv.requests()
		if last := reqs[len(reqs)-1]; last.status != http.StatusNotModified {
			t.Fatalf("second poll at the end of the chain got %d, want 304", last.status)
		}
	})
	t.Run("loop", func(t *testing.T) {
		d := testDeps(t, httpConfig(t, ts.URL+"/loop0", "      http: {max_redirects: 3}"))
		_, err := runNAV(t, d)
		if err == nil || !strings.Contains(err.Error(), "more than 3") {
			t.Fatalf("err = %v, want too many redirects", err)
		}
		if got := count(t, d, `SELECT count(*) FROM alerts WHERE kind = 'http_fetch_failed' AND detail LIKE '%redirects%'`); got != 1 {
			t.Fatalf("redirect alerts = %d, want 1", got)
		}
	})
}

// Whatever comes back that is not a NAV file is refused as a whole, with an
// alert that says what it was, and nothing is loaded: a 404 with nginx's page
// or a 302 without Location fail the poll; a 200 with an HTML page or an
// empty body is a rejected file.
func TestHTTPSourceRefusesNonNAVBodies(t *testing.T) {
	nginx404 := readFixture(t, "NAVAll_error_2025-09-14_nginx-404.html")
	moved := readFixture(t, "NAVAll_error_2025-09-16_document-moved.html")
	for _, tc := range []struct {
		name      string
		status    int
		body      []byte
		runFails  bool   // the poll fails (no file) rather than rejecting a file
		alertKind string // the alert raised
		inDetail  string // what the alert says
	}{
		{"404 with nginx page", 404, nginx404, true, "http_fetch_failed", `404 Not Found: HTML page titled "404 Not Found"`},
		{"302 without Location", 302, moved, true, "http_fetch_failed", `HTML page titled "Document Moved"`},
		{"503 with text", 503, []byte("Service Unavailable\n"), true, "http_fetch_failed", `503 Service Unavailable: body "Service Unavailable "`},
		{"200 with nginx page", 200, nginx404, false, "file_rejected", `got an HTML page titled "404 Not Found"`},
		{"200 with a redirect page", 200, moved, false, "file_rejected", `got an HTML page titled "Document Moved"`},
		{"200 with an empty body", 200, nil, false, "file_rejected", "the body is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(tc.status)
				w.Write(tc.body)
			}))
			defer ts.Close()
			d := testDeps(t, httpConfig(t, ts.URL+"/spages/NAVAll.txt", ""))
			st, err := runNAV(t, d)
			if (err != nil) != tc.runFails {
				t.Fatalf("run err = %v, want failure=%v", err, tc.runFails)
			}
			if st.In != 0 || count(t, d, `SELECT count(*) FROM navs`) != 0 {
				t.Fatalf("loaded %d records from a non-NAV body", st.In)
			}
			var kind, detail string
			if err := d.pg.Pool.QueryRow(testkit.Ctx(t), `SELECT kind, detail FROM alerts`).Scan(&kind, &detail); err != nil {
				t.Fatalf("no alert: %v", err)
			}
			if kind != tc.alertKind || !strings.Contains(detail, tc.inDetail) {
				t.Fatalf("alert %s %q, want %s containing %q", kind, detail, tc.alertKind, tc.inDetail)
			}
			wantRejected := 0
			if !tc.runFails {
				wantRejected = 1
			}
			if got := count(t, d, `SELECT count(*) FROM ingested_files WHERE status = 'rejected'`); got != wantRejected {
				t.Fatalf("rejected files = %d, want %d", got, wantRejected)
			}
			if got := count(t, d, `SELECT count(*) FROM job_runs WHERE status = 'failed'`); (got == 1) != tc.runFails {
				t.Fatalf("failed runs = %d", got)
			}
		})
	}
}

// A server that does not answer in time, or cuts the body short, fails the
// poll (to be retried by the next one) and loads nothing, not a partial file.
func TestHTTPSourceTimeoutsAndTruncatedBodies(t *testing.T) {
	body := readFixture(t, "NAVAll_2019-06-21.txt")
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		extra   string
		inErr   string
	}{
		{"no answer within the timeout", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // holds the response until the client gives up
		}, "      http: {timeout: 300ms}", "Timeout"},
		{"body cut short", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body[:len(body)/2])
			// Returning early closes the connection mid-body.
		}, "", "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(tc.handler)
			defer ts.Close()
			d := testDeps(t, httpConfig(t, ts.URL+"/NAVAll.txt", tc.extra))
			st, err := runNAV(t, d)
			if err == nil || !strings.Contains(err.Error(), tc.inErr) {
				t.Fatalf("err = %v, want one with %q", err, tc.inErr)
			}
			if !pipelines.IsTransient(err) {
				t.Errorf("err %v is not marked transient", err)
			}
			if st.In != 0 || count(t, d, `SELECT count(*) FROM ingested_files`) != 0 || count(t, d, `SELECT count(*) FROM checkpoints`) != 0 {
				t.Fatalf("a failed download left state behind (in=%d)", st.In)
			}
		})
	}
}
