package api

import (
	"crypto/rsa"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Roles.
const (
	RoleInvestor   = "investor"
	RoleOps        = "ops"
	RoleAnalyst    = "analyst"
	RoleCompliance = "compliance"
	RoleAdmin      = "admin"
	// RoleDistributor reads the payouts of its ARN (the token's arn) and
	// the ARNs under it.
	RoleDistributor = "distributor"
)

var roles = []string{RoleInvestor, RoleOps, RoleAnalyst, RoleCompliance, RoleAdmin, RoleDistributor}

// Roles are the roles a token may carry (`fundflow token --role`).
func Roles() []string { return slices.Clone(roles) }

// Claims are a token's claims: the registered ones (sub, exp required) and
// the role. An investor token names its investor and may narrow it to some
// folios.
type Claims struct {
	jwt.RegisteredClaims
	Role       string   `json:"role"`
	InvestorID string   `json:"investor_id,omitempty"`
	Folios     []string `json:"folios,omitempty"`
	ARN        string   `json:"arn,omitempty"` // a distributor token's ARN
}

// Principal is who is calling.
type Principal struct {
	Subject    string
	Role       string
	InvestorID string
	Folios     []string
	ARN        string
}

// Auth verifies bearer tokens. At least one key is set; a token signed with
// an algorithm whose key is not configured is refused.
type Auth struct {
	HS256Secret []byte         // HS256
	RS256Key    *rsa.PublicKey // RS256
	Issuer      string         // required iss, if set
	Audience    string         // required aud, if set
	Leeway      time.Duration  // clock skew allowed on exp/nbf/iat
	// MaxLifetime refuses a token that is valid for longer than this: exp
	// after iat + MaxLifetime, or after now + MaxLifetime (a token without
	// iat). 0: no limit.
	MaxLifetime time.Duration
	Now         func() time.Time // nil: time.Now
}

func (a *Auth) parser() *jwt.Parser {
	var methods []string
	if len(a.HS256Secret) > 0 {
		methods = append(methods, "HS256")
	}
	if a.RS256Key != nil {
		methods = append(methods, "RS256")
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(a.Leeway),
		jwt.WithTimeFunc(a.now)}
	if a.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.Issuer))
	}
	if a.Audience != "" {
		opts = append(opts, jwt.WithAudience(a.Audience))
	}
	return jwt.NewParser(opts...)
}

func (a *Auth) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// tooLong reports whether the token's validity exceeds MaxLifetime,
// counted from its iat and from now (the later exp any token may carry).
func (a *Auth) tooLong(c *Claims) bool {
	if a.MaxLifetime <= 0 || c.ExpiresAt == nil {
		return false
	}
	exp := c.ExpiresAt.Time
	if c.IssuedAt != nil && exp.Sub(c.IssuedAt.Time) > a.MaxLifetime+a.Leeway {
		return true
	}
	return exp.Sub(a.now()) > a.MaxLifetime+a.Leeway
}

func (a *Auth) key(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case "HS256":
		if len(a.HS256Secret) > 0 {
			return a.HS256Secret, nil
		}
	case "RS256":
		if a.RS256Key != nil {
			return a.RS256Key, nil
		}
	}
	return nil, errors.New("no key for this algorithm")
}

// Authenticate checks the request's bearer token.
func (a *Auth) Authenticate(r *http.Request) (Principal, *Problem) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, problem(http.StatusUnauthorized, CodeUnauthenticated, "send Authorization: Bearer <token>")
	}
	var c Claims
	_, err := a.parser().ParseWithClaims(strings.TrimSpace(tok), &c, a.key)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Principal{}, problem(http.StatusUnauthorized, CodeTokenExpired, "the token has expired")
	case err != nil:
		return Principal{}, problem(http.StatusUnauthorized, CodeInvalidToken, "the token is not valid")
	case a.tooLong(&c):
		return Principal{}, problem(http.StatusUnauthorized, CodeTokenLifetime, "the token is valid for longer than the "+a.MaxLifetime.String()+" allowed: ask for a shorter-lived one")
	case c.Subject == "":
		return Principal{}, problem(http.StatusUnauthorized, CodeInvalidToken, "the token has no subject")
	case !slices.Contains(roles, c.Role):
		return Principal{}, problem(http.StatusUnauthorized, CodeInvalidToken, "the token's role is not one of "+strings.Join(roles, ", "))
	case c.Role == RoleInvestor && c.InvestorID == "" && len(c.Folios) == 0:
		return Principal{}, problem(http.StatusUnauthorized, CodeInvalidToken, "an investor token must name its investor_id or folios")
	case c.Role == RoleDistributor && c.ARN == "":
		return Principal{}, problem(http.StatusUnauthorized, CodeInvalidToken, "a distributor token must name its arn")
	}
	return Principal{Subject: c.Subject, Role: c.Role, InvestorID: c.InvestorID, Folios: c.Folios, ARN: c.ARN}, nil
}

// MayReadFolio reports whether p may read folio, owned by investor owner.
// Staff roles that serve investors read every folio; analysts read none
// (they have ClickHouse); an investor reads the folios of their investor
// id, narrowed to the token's folios when it lists any.
func (p Principal) MayReadFolio(folio, owner string) bool {
	switch p.Role {
	case RoleOps, RoleCompliance, RoleAdmin:
		return true
	case RoleInvestor:
		if p.InvestorID != "" && p.InvestorID != owner {
			return false
		}
		return len(p.Folios) == 0 || slices.Contains(p.Folios, folio)
	}
	return false
}

// SeesPII reports whether responses to p carry PAN and bank details in the
// clear (compliance only; everyone else sees them masked).
func (p Principal) SeesPII() bool { return p.Role == RoleCompliance }

// Mint signs claims with HS256 (the `fundflow token` helper and tests).
func Mint(secret []byte, c Claims) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}
