package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/exports"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
)

// `fundflow export` writes the file and manifest, and --to-sftp delivers
// both to the real sshd; `fundflow token` mints a token the API accepts.
func TestExportAndTokenCommands(t *testing.T) {
	pool, url := testkit.PG(t)
	key := bytes.Repeat([]byte{4}, 32)
	sealer, _ := pii.New(key)
	if _, err := ledgerfix.Load(testkit.Ctx(t), pool, ledgerfix.Sample(sealer)); err != nil {
		t.Fatal(err)
	}
	srv := testkit.SFTP(t)
	cfg := filepath.Join(t.TempDir(), "fundflow.yaml")
	os.WriteFile(cfg, []byte("services:\n  postgres_url_env: EXPORT_TEST_PG_URL\n"), 0o644)
	t.Setenv("EXPORT_TEST_PG_URL", url)
	t.Setenv("FUNDFLOW_PII_KEY", base64.StdEncoding.EncodeToString(key))
	t.Setenv("FUNDFLOW_SFTP_ADDR", srv.Addr)
	t.Setenv("FUNDFLOW_SFTP_USER", srv.User)
	t.Setenv("FUNDFLOW_SFTP_KEY", srv.KeyPath)
	t.Setenv("FUNDFLOW_SFTP_HOST_KEY", srv.HostKeyPath)
	out := t.TempDir()
	drop := filepath.Join(srv.Dir, "compliance")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--config", cfg, "--log-level", "warn", "export", "fatca-crs", "--from", "2024-01-01",
		"--to", "2024-12-31", "--format", "parquet", "--out", out, "--to-sftp", "--sftp-dir", drop}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var m exports.Manifest
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil || m.Files[0].Rows != 3 {
		t.Fatalf("manifest %s: %v", stdout.String(), err)
	}
	for _, name := range []string{m.Files[0].Name, "fatca-crs_2024-01-01_2024-12-31.manifest.json"} {
		local, err1 := os.ReadFile(filepath.Join(out, name))
		remote, err2 := os.ReadFile(filepath.Join(drop, name))
		if err1 != nil || err2 != nil || !bytes.Equal(local, remote) {
			t.Fatalf("%s: local %v, delivered %v", name, err1, err2)
		}
	}
	// stderr is not a terminal here (as in `export 2>f`): a plain final
	// line, no bar and no '\r' (issue 16).
	if !strings.Contains(stderr.String(), "export fatca-crs 100% 3/3 rows") || strings.ContainsAny(stderr.String(), "\r[") {
		t.Errorf("progress line: %q", stderr.String())
	}
	if err := run(context.Background(), []string{"--config", cfg, "export", "nope", "--from", "2024-01-01", "--to", "2024-01-02"}, &stdout, &stderr); err == nil {
		t.Error("unknown export kind accepted")
	}

	t.Setenv("FUNDFLOW_JWT_SECRET", "a-secret-for-the-token-command-test!")
	stdout.Reset()
	if err := run(context.Background(), []string{"token", "--role", "investor", "--sub", "u1", "--investor", "INV-1"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	auth := &api.Auth{HS256Secret: []byte("a-secret-for-the-token-command-test!")}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(stdout.String()))
	p, prob := auth.Authenticate(req)
	if prob != nil || p.Role != api.RoleInvestor || p.InvestorID != "INV-1" || !p.MayReadFolio("F-1", "INV-1") || p.MayReadFolio("G-1", "INV-2") {
		t.Fatalf("minted token: %+v %v", p, prob)
	}
	if err := run(context.Background(), []string{"token", "--role", "investor", "--sub", "u1"}, &stdout, &stderr); err == nil {
		t.Error("an investor token without investor or folios was minted")
	}
}
