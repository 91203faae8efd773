package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fundflow/fundflow/api"
)

const tokenUsage = `usage:
  fundflow token --role ROLE --sub SUBJECT [--investor ID] [--folios F1,F2] [--ttl 1h]
                 [--issuer ISS] [--audience AUD]
      Mint an HS256 bearer token for the query API with the secret in
      $FUNDFLOW_JWT_SECRET (or --secret-env NAME), for development, the demo and
      load tests; production tokens come from the platform's identity service.
      ROLE: investor, ops, analyst, compliance, admin. An investor token needs
      --investor or --folios. The API refuses a --ttl longer than
      serve.api.max_token_lifetime (default 24h).`

func cmdToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "")
	sub := fs.String("sub", "", "")
	inv := fs.String("investor", "", "")
	folios := fs.String("folios", "", "")
	ttl := fs.Duration("ttl", time.Hour, "")
	iss := fs.String("issuer", "", "")
	aud := fs.String("audience", "", "")
	secretEnv := fs.String("secret-env", "FUNDFLOW_JWT_SECRET", "")
	fs.Usage = func() { fmt.Fprintln(stderr, tokenUsage) }
	if err := fs.Parse(args); err != nil {
		return usageErr("%s", tokenUsage)
	}
	if *role == "" || *sub == "" || *ttl <= 0 {
		return usageErr("%s", tokenUsage)
	}
	secret := os.Getenv(*secretEnv)
	if len(secret) < 32 {
		return usageErr("%s must hold an HS256 secret of at least 32 bytes", *secretEnv)
	}
	now := time.Now()
	c := api.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: *sub, Issuer: *iss, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(*ttl))}, Role: *role, InvestorID: *inv}
	if *aud != "" {
		c.Audience = jwt.ClaimStrings{*aud}
	}
	if *folios != "" {
		c.Folios = strings.Split(*folios, ",")
	}
	if *role == api.RoleInvestor && c.InvestorID == "" && len(c.Folios) == 0 {
		return usageErr("an investor token needs --investor or --folios")
	}
	tok, err := api.Mint([]byte(secret), c)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
