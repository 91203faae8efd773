// Package http is a feed.Store over one URL, such as AMFI's NAVAll.txt: each
// poll is one conditional GET, and a 200 response is one file to load.
//
// The validators of the last response (ETag, Last-Modified) are remembered
// in Postgres with the SHA-256 of its body, and sent back (If-None-Match,
// If-Modified-Since) only once that body is loaded or rejected: a crash
// mid-load makes the next poll fetch the whole body again instead of being
// told "not modified" about a file it never finished.
//
// A response that is not 200 or 304 (a 404 with nginx's HTML page, a redirect
// loop, a body over the size limit) fails the poll with a clear error and an
// alert row. A 200 whose body is not a NAV file (an HTML page, an empty body)
// goes on to the decoder, which rejects the file as a whole with its own
// alert. Neither ever loads as "0 rows".
package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/url"
	"path"
	"regexp"
	"sync"
	"time"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/pipelines"
)

// State is where the source remembers the last response and raises alerts.
// sinks/postgres.Store implements it.
type State interface {
	LoadCheckpoint(ctx context.Context, stream string) ([]byte, error)
	SaveCheckpoint(ctx context.Context, cp pipelines.Checkpoint) error
	FileStatus(ctx context.Context, pipeline, sha string) (string, error)
	RaiseAlert(ctx context.Context, kind, subject, detail string) error
}

var errRedirects = errors.New("too many redirects")

// AlertFetchFailed is the alert kind of a poll that got no file.
const AlertFetchFailed = "http_fetch_failed"

// Options tune a URL store.
type Options struct {
	Timeout      time.Duration // the whole request, body included; default 2 min
	MaxRedirects int           // default 5
	MaxBytes     int64         // largest body accepted; default 64 MiB (NAVAll.txt is about 2 MB)
	Transport    nethttp.RoundTripper
	Log          *slog.Logger
}

// URL is a feed.Store that holds the file one GET of a URL returned. It
// fetches once, on the first List; a Store is made per run.
type URL struct {
	pipeline string
	raw      string
	u        *url.URL
	state    State
	client   *nethttp.Client
	max      int64
	log      *slog.Logger

	mu      sync.Mutex
	fetched bool
	files   []feed.FileInfo
	body    []byte
	err     error
}

// remembered is what State keeps between polls.
type remembered struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	SHA256       string `json:"sha256"`
	FinalURL     string `json:"final_url,omitempty"` // after redirects
}

// New returns a store over rawURL for pipeline.
func New(pipeline, rawURL string, state State, o Options) (*URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http source: %q is not an http(s) URL", rawURL)
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 5
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &URL{pipeline: pipeline, raw: rawURL, u: u, state: state, max: o.MaxBytes}
	s.log = o.Log.With("pipeline", pipeline, "url", s.Describe())
	s.client = &nethttp.Client{
		Transport: o.Transport,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *nethttp.Request, via []*nethttp.Request) error {
			if len(via) > o.MaxRedirects {
				return fmt.Errorf("%w: more than %d (last to %s)", errRedirects, o.MaxRedirects, redact(req.URL))
			}
			return nil
		},
	}
	return s, nil
}

// Describe names the URL (without any user info).
func (s *URL) Describe() string { return redact(s.u) }

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

func (s *URL) stream() string { return s.pipeline + "/http/" + s.Describe() }

// Name is the file name a response is loaded under: the last part of the
// URL's path (NAVAll.txt); the fingerprint tells responses apart.
func (s *URL) Name() string {
	if b := path.Base(s.u.Path); b != "." && b != "/" && b != "" {
		return b
	}
	return s.u.Host
}

// List fetches the URL (once per store) and returns its body as one file,
// or nothing when the server says it has not changed.
func (s *URL) List(ctx context.Context) ([]feed.FileInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.fetched {
		s.files, s.err = s.fetch(ctx)
		s.fetched = s.err == nil
	}
	return s.files, s.err
}

// Open returns the fetched body.
func (s *URL) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.files) == 0 || name != s.files[0].Name {
		return nil, fmt.Errorf("http source: %s was not fetched", name)
	}
	return io.NopCloser(bytes.NewReader(s.body)), nil
}

// Archive does nothing: a web server's file stays where it is, and the
// remembered validators keep it from being fetched again.
func (s *URL) Archive(ctx context.Context, name string) error { return nil }

func (s *URL) fetch(ctx context.Context) ([]feed.FileInfo, error) {
	var last remembered
	raw, err := s.state.LoadCheckpoint(ctx, s.stream())
	if err != nil {
		return nil, err
	}
	if raw != nil {
		if err := json.Unmarshal(raw, &last); err != nil {
			return nil, fmt.Errorf("http source: remembered state of %s: %w", s.Describe(), err)
		}
	}
	conditional := false
	if last.SHA256 != "" && (last.ETag != "" || last.LastModified != "") {
		st, err := s.state.FileStatus(ctx, s.pipeline, last.SHA256)
		if err != nil {
			return nil, err
		}
		conditional = st == "done" || st == "rejected" || st == "failed"
	}

	req, err := nethttp.NewRequestWithContext(ctx, nethttp.MethodGet, s.raw, nil)
	if err != nil {
		return nil, fmt.Errorf("http source: %w", err)
	}
	req.Header.Set("User-Agent", "fundflow-nav-ingest")
	if conditional {
		if last.ETag != "" {
			req.Header.Set("If-None-Match", last.ETag)
		}
		if last.LastModified != "" {
			req.Header.Set("If-Modified-Since", last.LastModified)
		}
	}
	t0 := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, errRedirects) {
			return nil, s.fail(ctx, fmt.Errorf("GET %s: %w", s.Describe(), err))
		}
		// Network trouble and timeouts: the next poll tries again.
		return nil, pipelines.Transient(fmt.Errorf("http source: GET %s: %w", s.Describe(), err))
	}
	defer resp.Body.Close()
	final := redact(resp.Request.URL)

	switch resp.StatusCode {
	case nethttp.StatusNotModified:
		if !conditional {
			return nil, s.fail(ctx, fmt.Errorf("GET %s: 304 Not Modified to a request that was not conditional", final))
		}
		s.log.Info("not modified since the last load", "etag", last.ETag, "last_modified", last.LastModified)
		return nil, nil
	case nethttp.StatusOK:
	default:
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, s.fail(ctx, fmt.Errorf("GET %s: %s%s: %s", s.Describe(), resp.Status, via(final, s.Describe()), describeBody(snippet)))
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, s.max+1))
	if err != nil {
		return nil, pipelines.Transient(fmt.Errorf("http source: read body of %s: %w", final, err))
	}
	if int64(len(body)) > s.max {
		return nil, s.fail(ctx, fmt.Errorf("GET %s: body larger than the %d bytes allowed", final, s.max))
	}
	sum := sha256.Sum256(body)
	sha := hex.EncodeToString(sum[:])
	next := remembered{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), SHA256: sha, FinalURL: final}
	pos, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	// Saved before the load: the validators only go out again once this
	// body's fingerprint is done or rejected (see the package comment).
	if err := s.state.SaveCheckpoint(ctx, pipelines.Checkpoint{Stream: s.stream(), Pos: pos}); err != nil {
		return nil, err
	}
	mod := time.Now()
	if t, err := nethttp.ParseTime(next.LastModified); err == nil {
		mod = t
	}
	s.body = body
	s.log.Info("fetched", "bytes", len(body), "sha256", sha, "final_url", final, "etag", next.ETag,
		"last_modified", next.LastModified, "took", time.Since(t0).Round(time.Millisecond))
	return []feed.FileInfo{{Name: s.Name(), Size: int64(len(body)), ModTime: mod}}, nil
}

func via(final, asked string) string {
	if final == asked {
		return ""
	}
	return " (redirected to " + final + ")"
}

// fail raises the alert of a poll that got no file and returns err.
func (s *URL) fail(ctx context.Context, err error) error {
	err = fmt.Errorf("http source: %w", err)
	if aerr := s.state.RaiseAlert(context.WithoutCancel(ctx), AlertFetchFailed, s.pipeline+"/"+s.Describe(), err.Error()); aerr != nil {
		s.log.Error("raise alert", "err", aerr)
	}
	s.log.Error("fetch failed", "err", err)
	return err
}

var (
	titleRe = regexp.MustCompile(`(?is)<title>\s*(.*?)\s*</title>`)
	spaceRe = regexp.MustCompile(`\s+`)
)

// describeBody says what an error response contained: an HTML page's title,
// or the start of the text.
func describeBody(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return "empty body"
	}
	if m := titleRe.FindSubmatch(b); m != nil {
		return fmt.Sprintf("HTML page titled %q", m[1])
	}
	s := spaceRe.ReplaceAllString(string(b), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return fmt.Sprintf("body %q", s)
}
