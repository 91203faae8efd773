package main

import (
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fundflow/fundflow/api"
)

type tokenCmd struct {
	Role      string        `required:"" enum:"${roles}" help:"One of ${roles}."`
	Sub       string        `required:"" help:"The subject." placeholder:"SUBJECT"`
	Investor  string        `help:"The investor an investor token reads." placeholder:"ID"`
	Folios    []string      `help:"The folios an investor token reads." placeholder:"F1,F2"`
	ARN       string        `name:"arn" help:"The ARN a distributor token reads (with its sub-tree)." placeholder:"ARN"`
	TTL       time.Duration `name:"ttl" default:"1h" help:"Lifetime; the API refuses one longer than serve.api.max_token_lifetime (default 24h)."`
	Issuer    string        `help:"The iss claim." placeholder:"ISS"`
	Audience  string        `help:"The aud claim." placeholder:"AUD"`
	SecretEnv string        `default:"FUNDFLOW_JWT_SECRET" help:"The environment variable holding the HS256 secret." placeholder:"NAME"`
}

func (tokenCmd) Help() string {
	return `An HS256 bearer token for the query API, for development, the demo and load tests; production tokens come from the platform's identity service. An investor token needs --investor or --folios.`
}

func (c tokenCmd) Run(a *app) error {
	if c.TTL <= 0 {
		return usageErr("token: --ttl must be positive")
	}
	if c.Role == api.RoleInvestor && c.Investor == "" && len(c.Folios) == 0 {
		return usageErr("an investor token needs --investor or --folios")
	}
	if c.Role == api.RoleDistributor && c.ARN == "" {
		return usageErr("a distributor token needs --arn")
	}
	secret := os.Getenv(c.SecretEnv)
	if len(secret) < 32 {
		return usageErr("%s must hold an HS256 secret of at least 32 bytes", c.SecretEnv)
	}
	now := time.Now()
	claims := api.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: c.Sub, Issuer: c.Issuer, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(c.TTL))}, Role: c.Role, InvestorID: c.Investor, Folios: c.Folios, ARN: c.ARN}
	if c.Audience != "" {
		claims.Audience = jwt.ClaimStrings{c.Audience}
	}
	tok, err := api.Mint([]byte(secret), claims)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, tok)
	return err
}
