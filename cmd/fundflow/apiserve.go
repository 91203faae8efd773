package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/ratelimit"
	"github.com/fundflow/fundflow/readmodel"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// apiConfig builds the API's settings from the config and the environment.
func apiConfig(c config.API) (api.Config, error) {
	auth := &api.Auth{HS256Secret: []byte(os.Getenv(c.JWTSecretEnv)), Issuer: c.JWTIssuer, Audience: c.JWTAudience, Leeway: 30 * time.Second,
		MaxLifetime: c.MaxTokenLifetime}
	if path := os.Getenv(c.JWTPublicKeyEnv); path != "" {
		key, err := readRSAPublicKey(path)
		if err != nil {
			return api.Config{}, fmt.Errorf("%s: %w", c.JWTPublicKeyEnv, err)
		}
		auth.RS256Key = key
	}
	if len(auth.HS256Secret) == 0 && auth.RS256Key == nil {
		return api.Config{}, fmt.Errorf("the API needs a token key: set %s (HS256 secret, 32+ bytes) or %s (path of a PEM RSA public key)",
			c.JWTSecretEnv, c.JWTPublicKeyEnv)
	}
	if n := len(auth.HS256Secret); n > 0 && n < 32 {
		return api.Config{}, fmt.Errorf("%s is %d bytes: an HS256 secret needs at least 32", c.JWTSecretEnv, n)
	}
	cfg := api.Config{Auth: auth, RatePerSecond: c.RatePerSecond, Burst: c.Burst, RequestTimeout: c.RequestTimeout,
		ExportTimeout: c.ExportTimeout, MaxBodyBytes: c.MaxBodyBytes, FailedAuth: failedAuthLimit(c, nil)}
	if cfg.RatePerSecond < 0 {
		cfg.RatePerSecond = 0 // unlimited
	}
	if os.Getenv(c.PIIKeyEnv) != "" {
		s, err := pii.FromEnv(os.Getenv, c.PIIKeyEnv)
		if err != nil {
			return api.Config{}, err
		}
		cfg.PII = s
	}
	return cfg, nil
}

// failedAuthLimit is the limit of failed authentications per client
// address (serve.api.failed_auth_*), shared by the query API and /v1/orders;
// nil when switched off (-1).
func failedAuthLimit(c config.API, now func() time.Time) *ratelimit.Failures {
	if c.FailedAuthBurst < 0 || c.FailedAuthPerSecond < 0 {
		return nil
	}
	return ratelimit.NewFailures(c.FailedAuthPerSecond, c.FailedAuthBurst, now)
}

func readRSAPublicKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return jwt.ParseRSAPublicKeyFromPEM(b)
}

// startAPI serves the query API on cfg.Serve.API.Addr until ctx ends; the
// returned function shuts it down.
func startAPI(ctx context.Context, d *deps) (stop func(), err error) {
	c := d.cfg.Serve.API
	if c.Addr == "" {
		return func() {}, nil
	}
	cfg, err := apiConfig(c)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if cfg.PII == nil {
		d.log.Warn("no PII key: PAN and bank details are left out of API responses", "env", c.PIIKeyEnv)
	}
	// Who read what goes to ClickHouse api_requests, in batches.
	access := &clickhouse.AccessLog{Conn: d.ch, Log: d.log}
	access.Start(10000)
	cfg.Access = func(e api.AccessEvent) { access.Record(clickhouse.APIRequest(e)) }
	cfg.Ready = d.pgReady
	store := &readmodel.Store{PG: d.pg.Pool, CH: d.ch}
	srv := api.New(cfg, store, newExporter(d, cfg.PII), d.log).HTTPServer(c.Addr)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		access.Close()
		return nil, fmt.Errorf("api: %w", err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("api server", "err", err)
		}
	}()
	d.log.Info("serving the query API", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		access.Close()
		if n := access.Dropped(); n > 0 {
			d.log.Warn("api access log: rows dropped (buffer full)", "rows", n)
		}
	}, nil
}
