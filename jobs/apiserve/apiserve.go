// Package apiserve runs the query API for serve: its settings from the
// config and the environment (token keys, PII key, limits), the read model
// over Postgres and ClickHouse, the exporter, and the access log to
// ClickHouse.
package apiserve

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/api/console"
	commpg "github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/exports"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/ratelimit"
	"github.com/fundflow/fundflow/investors"
	investorstore "github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/plans/pgstore"
	"github.com/fundflow/fundflow/readmodel"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/tax"
	taxpg "github.com/fundflow/fundflow/tax/pgstore"
	"github.com/fundflow/fundflow/wallet"
)

// ConfigError is a setting the API cannot start with (a missing or short
// token key, a bad PII key): the operator's to fix, not a failure.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Config builds the API's settings from the config and the environment.
func Config(c config.API) (api.Config, error) {
	cfg, err := settings(c)
	if err != nil {
		return cfg, &ConfigError{Err: err}
	}
	return cfg, nil
}

func settings(c config.API) (api.Config, error) {
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
		ExportTimeout: c.ExportTimeout, MaxBodyBytes: c.MaxBodyBytes, FailedAuth: FailedAuthLimit(c, nil)}
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

// FailedAuthLimit is the limit of failed authentications per client
// address (serve.api.failed_auth_*), shared by the query API and /v1/orders;
// nil when switched off (-1).
func FailedAuthLimit(c config.API, now func() time.Time) *ratelimit.Failures {
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

// Deps are what the API reads through.
type Deps struct {
	PG    *pgxpool.Pool
	CH    clickhouse.Conn
	Ready func(ctx context.Context) error // readiness: nil when the stores answer
	Log   *slog.Logger
	Plans api.Plans // the /v1/plans routes (PlansService); nil: they answer 503
	// FraudReview serves the ops routes of fraud and AML holds and alerts
	// (fraud/review); nil: they answer 503.
	FraudReview api.FraudReview
	Tax         api.Tax // the tax routes (TaxAPI); nil: they answer 503
	// Console is what the ops console at /ops/ reads and writes through
	// (its Auth, FailedAuth and Log are the API's); nil: it is not served.
	Console *console.Config
	// Metrics counts and times requests by route (fundflow_http_*); nil:
	// not measured.
	Metrics *api.HTTPMetrics
	// RiskFree is the folio risk route's effective-dated risk-free series
	// (pipelines.facts-check.risk_free_file); nil: 0.065 a year.
	RiskFree risk.Rates
	// Wallets serves GET /v1/wallets/{id} and the cancel of a parked
	// withdrawal (wallet.Service); nil: 503.
	Wallets api.Wallets
	// WalletStatements puts a folio's wallets on its statement PDF
	// (wallet.Service); nil: not shown.
	WalletStatements api.WalletStatements
	// Pools serves GET /v1/wallets/{id}/pools (pool.Service); nil: 503.
	Pools api.Pools
	// Drift serves GET /v1/wallets/{id}/drift (wallet.Rebalancer) at
	// DriftThresholdPP (nil: wallet.DefaultThresholdPP; 0 is 0); nil: 503.
	Drift            api.WalletDrift
	DriftThresholdPP *decimal.Decimal
	// FeeCharges serves GET /v1/wallets/{id}/fees (wallet/pgstore); nil: 503.
	FeeCharges wallet.FeeChargeStore
	// RiskProfiles serves /v1/investors/{id}/risk-profile (wallet.Risk); nil: 503.
	RiskProfiles api.RiskProfiles
}

// TaxAPI is the tax service over pool: capital gains, TDS and IDCW
// declarations on the money path's calendar.
func TaxAPI(pool *pgxpool.Pool, cal *fund.Calendar) *tax.API {
	return tax.NewAPI(&taxpg.Store{Pool: pool}, cal)
}

// PlansService is the systematic-plan service over pool, on the business
// days of cal, with the config's rules.
func PlansService(pool *pgxpool.Pool, cal *fund.Calendar, c config.Plans) *plans.Service {
	return &plans.Service{Store: pgstore.Store{Pool: pool}, Calendar: cal, Config: c.Rules()}
}

// AnalyticsReload is how often the API looks for a refresh of the scheme
// models to load (query.Cached.Run): a cheap count of two logs.
const AnalyticsReload = 10 * time.Second

// Start serves the query API on c.Addr (nothing when it is empty); the
// returned function shuts it down and flushes the access log.
func Start(ctx context.Context, c config.API, d Deps) (stop func(), err error) {
	if c.Addr == "" {
		return func() {}, nil
	}
	cfg, err := Config(c)
	if err != nil {
		return nil, err
	}
	if cfg.PII == nil {
		d.Log.Warn("no PII key: PAN and bank details are left out of API responses", "env", c.PIIKeyEnv)
	}
	// Who read what goes to ClickHouse api_requests, in batches.
	access := &clickhouse.AccessLog{Conn: d.CH, Log: d.Log}
	access.Start(10000)
	cfg.Access = func(e api.AccessEvent) { access.Record(clickhouse.APIRequest(e)) }
	cfg.Ready = d.Ready
	cfg.Plans = d.Plans
	if cfg.PII != nil {
		// The investor master seals what it stores: without the key its
		// routes answer 503.
		cfg.Investors = &investors.Service{Store: investorstore.Store{Pool: d.PG}, PII: cfg.PII, Log: d.Log}
	}
	// analytics routes (issue 20): scheme analytics from memory, reloaded
	// after each refresh of the models
	analytics := &query.Cached{Service: query.Service{PG: d.PG, CH: d.CH, RiskFree: decimal.RequireFromString("0.065"), Rates: d.RiskFree}, Log: d.Log}
	cfg.Analytics = analytics
	cfg.FraudReview = d.FraudReview
	cfg.PayoutHolds = investorstore.Store{Pool: d.PG}
	cfg.Wallets = d.Wallets
	cfg.WalletStatements = d.WalletStatements
	cfg.Pools = d.Pools
	cfg.Drift, cfg.DriftThresholdPP, cfg.FeeCharges = d.Drift, d.DriftThresholdPP, d.FeeCharges
	cfg.RiskProfiles = d.RiskProfiles
	cfg.Tax = d.Tax
	cfg.Distributors = Distributors{Store: commpg.Store{Pool: d.PG}}
	if d.Console != nil {
		cc := *d.Console
		cc.Auth, cc.FailedAuth, cc.Log, cc.Access, cc.Timeout = cfg.Auth, cfg.FailedAuth, d.Log, cfg.Access, cfg.RequestTimeout
		h, err := console.New(cc)
		if err != nil {
			access.Close()
			return nil, err
		}
		cfg.Console = h
	}
	cfg.Metrics = d.Metrics
	store := &readmodel.Store{PG: d.PG, CH: d.CH}
	srv := api.New(cfg, store, &exports.Exporter{PG: d.PG, PII: cfg.PII}, d.Log).HTTPServer(c.Addr)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		access.Close()
		return nil, fmt.Errorf("api: %w", err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.Log.Error("api server", "err", err)
		}
	}()
	snapCtx, stopSnap := context.WithCancel(ctx)
	go analytics.Run(snapCtx, AnalyticsReload)
	d.Log.Info("serving the query API", "addr", ln.Addr().String())
	if cfg.Console != nil {
		d.Log.Info("serving the ops console", "url", "http://"+ln.Addr().String()+console.Prefix)
	}
	return func() {
		stopSnap()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		access.Close()
		if n := access.Dropped(); n > 0 {
			d.Log.Warn("api access log: rows dropped (buffer full)", "rows", n)
		}
	}, nil
}
