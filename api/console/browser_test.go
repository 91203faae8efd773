package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/internal/testkit"
)

// chromiumPath is Debian's Chromium, which scripts/services.sh installs.
const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium for the test. Without it the test is
// skipped, except under CI=true, where a missing browser fails it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("FUNDFLOW_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := exec.LookPath(path); err != nil {
		testkit.Missing(t, "no Chromium at %s (%v): scripts/services.sh installs it", path, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(1360, 900),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancel)
	// A generous bound: a hung browser must not hang the suite.
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// screenshotDir is where the screenshots go for a person to look at:
// $FUNDFLOW_STATE, else the repository's .state.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("FUNDFLOW_STATE")
	if dir == "" {
		dir = filepath.Join(testkit.Root(t), ".state")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The console in a real browser against the real Postgres and ClickHouse:
// sign in with an ops token, click Replay on the row held for nav_jump (it
// fails the jump check again and records this replay), Accept it (the NAV
// is published, the row accepted by the token's subject), and Explain the
// recon break; each click changes the database, and today's completeness
// goes from one scheme missing to none. Screenshots of every page are saved
// as console-*.png.
func TestConsoleInChromium(t *testing.T) {
	st := time.Now()
	ctx := browser(t)
	f := newFixture(t)
	t.Logf("browser and fixture up in %s", time.Since(st))
	shots := screenshotDir(t)
	base := f.srv.URL
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, "console-"+name+".png"), buf, 0o644)
		})
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		st := time.Now()
		defer func() { t.Logf("step %q took %s", what, time.Since(st)) }()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(what, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}

	run("start Chromium", chromedp.Navigate("about:blank"))
	// Sign in: a page asked for without a session leads to the sign-in and back.
	run("sign in",
		chromedp.Navigate(base+"/ops/quarantine"),
		chromedp.WaitVisible(chromedp.ID("token")),
		shot("login"),
		// The token is pasted, not typed: typing 300 characters as key events takes seconds.
		chromedp.SetValue(chromedp.ID("token"), token(t, api.RoleOps, "ops-alice")),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("quarantine")),
	)
	if s := f.state(t); s.QStatus != "open" || s.QReplayed || s.GammaNAVOn21 != 0 {
		t.Fatalf("before the clicks: %+v", s)
	}
	if raw := text("raw line", fmt.Sprintf("#q%d code.raw", f.held)); !strings.Contains(raw, "100003;INF000A01037;-;Gamma Fund - Growth;14.0000;21-Aug-2026") {
		t.Fatalf("the row's raw line: %q", raw)
	}
	run("quarantine page", shot("quarantine"))

	// Completeness of Fri the 21st, judged Mon 09:00: all three schemes had
	// a NAV on the 20th; Gamma's of the 21st is held, so it is missing.
	run("freshness before", chromedp.Navigate(base+"/ops/freshness"), chromedp.WaitVisible(chromedp.ID("completeness")), shot("freshness-before"))
	if got := text("completeness", "#completeness"); !strings.Contains(got, "Of 3 schemes with a NAV on 2026-08-20: 2 have one for 2026-08-21, 1 missing") {
		t.Fatalf("completeness before accept: %q", got)
	}
	if got := text("missing", "#missing"); !strings.Contains(got, "100003") || !strings.Contains(got, "Gamma Mutual Fund") {
		t.Fatalf("missing schemes: %q", got)
	}
	run("back to the quarantine", chromedp.Navigate(base+"/ops/quarantine"), chromedp.WaitVisible(chromedp.ID("quarantine")))

	// Replay: the jump is still a jump; the row stays open with this
	// replay's reason, and the replay is a recorded run.
	run("replay",
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#q%d button.replay", f.held))),
		chromedp.WaitVisible(chromedp.ID("flash")),
		chromedp.WaitVisible(chromedp.ID("last-replay")),
	)
	if s := f.state(t); s.QStatus != "open" || !s.QReplayed || s.Run != 1 || s.GammaNAVOn21 != 0 {
		t.Fatalf("after replay: %+v, want the row open with a replay recorded and one replay run", s)
	}
	if flash := text("flash", "#flash"); !strings.Contains(flash, "1 row(s) considered, 0 published") || !strings.Contains(flash, "1 nav_jump") {
		t.Fatalf("replay says %q", flash)
	}
	if got := text("last replay", "#last-replay"); !strings.Contains(got, "nav_jump") {
		t.Fatalf("last replay: %q", got)
	}

	// Accept: a person reviewed the jump.
	run("accept",
		chromedp.Click(chromedp.ID("accept")),
		chromedp.WaitVisible(chromedp.ID("resolved")),
		shot("quarantined"),
	)
	if s := f.state(t); s.QStatus != "accepted" || s.QBy != "ops-alice" || s.GammaNAVOn21 != 1 || s.Run != 2 {
		t.Fatalf("after accept: %+v, want the row accepted by ops-alice and Gamma's NAV of the 21st stored", s)
	}
	if got := text("resolved", "#resolved"); !strings.HasPrefix(got, "accepted by ops-alice at ") {
		t.Fatalf("resolved: %q", got)
	}

	// Explain the recon break.
	run("explain",
		chromedp.Navigate(base+"/ops/breaks"),
		chromedp.WaitVisible(chromedp.ID("breaks")),
		chromedp.SendKeys(chromedp.CSS(fmt.Sprintf("#b%d input.note", f.breakID)), "CAMS file a day late"),
		shot("breaks"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#b%d button.explain", f.breakID))),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if s := f.state(t); s.BStatus != "explained" || s.BBy != "ops-alice" {
		t.Fatalf("after explain: %+v", s)
	}
	var detail string
	if err := f.pg.QueryRow(ctx, `SELECT detail FROM recon_breaks WHERE id = $1`, f.breakID).Scan(&detail); err != nil || !strings.HasSuffix(detail, "explained by ops-alice: CAMS file a day late") {
		t.Fatalf("break detail %q (%v)", detail, err)
	}

	// Gamma's NAV of the 21st is there now that it was accepted.
	run("freshness", chromedp.Navigate(base+"/ops/freshness"), chromedp.WaitVisible(chromedp.ID("completeness")), shot("freshness"))
	if got := text("completeness", "#completeness"); !strings.Contains(got, "Of 3 schemes with a NAV on 2026-08-20: 3 have one for 2026-08-21, 0 missing") {
		t.Fatalf("completeness: %q", got)
	}
	for _, p := range []struct{ path, sel, name string }{
		{"/ops/", ".cards", "overview"}, {"/ops/runs", "#runs", "runs"}, {"/ops/alerts", "#alerts", "alerts"}, {"/ops/payments", "#payment-breaks", "payments"},
	} {
		run(p.name, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)), shot(p.name))
	}
	var lastReplay, lastIngest int64
	if err := f.pg.QueryRow(ctx, `SELECT max(id) FILTER (WHERE pipeline = 'quarantine-replay'), max(id) FILTER (WHERE pipeline = 'nav-ingest') FROM job_runs`).
		Scan(&lastReplay, &lastIngest); err != nil {
		t.Fatal(err)
	}
	run("overview again", chromedp.Navigate(base+"/ops/"), chromedp.WaitVisible(chromedp.ID("last-runs")))
	if got := text("last runs", "#last-runs"); !strings.Contains(got, fmt.Sprintf("quarantine-replay\t%d\tok", lastReplay)) || !strings.Contains(got, fmt.Sprintf("nav-ingest\t%d\tok\t", lastIngest)) {
		t.Fatalf("last run of each job: %q", got)
	}
	run("run detail", chromedp.Navigate(fmt.Sprintf("%s/ops/runs/%d", base, lastIngest)), chromedp.WaitVisible(chromedp.ID("reasons")), shot("run"))
	if got := text("run detail", "#run"); !strings.Contains(got, "Rows in\n6") || !strings.Contains(got, "Rows out\n5") || !strings.Contains(got, "Rejects\n1") {
		t.Fatalf("run detail: %q", got)
	}
	if got := text("rejects by reason", "#reasons"); !strings.Contains(got, "nav_jump\t1") {
		t.Fatalf("rejects by reason: %q", got)
	}
	run("payments again", chromedp.Navigate(base+"/ops/payments"), chromedp.WaitVisible(chromedp.ID("payment-breaks")))
	if got := text("payments", "#payment-breaks"); !strings.Contains(got, "pay_T1") || !strings.Contains(got, "₹5000.00") {
		t.Fatalf("payment breaks: %q", got)
	}
	t.Logf("screenshots: %s/console-*.png", shots)
}
