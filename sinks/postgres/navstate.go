package postgres

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// schemeAttrs are the scheme-master fields a new version is made for.
type schemeAttrs struct {
	Name, ISINGrowth, ISINReinvest, Plan, Option, Category, SchemeType, AMC string
}

func attrsOf(r fund.NAVRecord) schemeAttrs {
	return schemeAttrs{r.SchemeName, r.ISINGrowth, r.ISINReinvest, r.Plan, r.Option, r.Category, r.SchemeType, r.AMC}
}

// schemeState is what the NAV sink knows of one scheme: its current master
// row (version 0: not in schemes) and its nav_latest row (zero date: none).
// An entry at its zero value (plan makes them for schemes it has not seen)
// says what no entry says: read the fields, never whether an entry exists.
type schemeState struct {
	version    int32
	validFrom  fund.Date
	attrs      schemeAttrs
	latestDate fund.Date
	latestNAV  decimal.Decimal
	// plan's marks, under mu: the batch that saw the scheme last (a number
	// of navState.marks) and its slot in that batch's plan.
	mark uint64
	slot int32
	// rank is the scheme's place in code order among the entries of its
	// map when they were last ranked (rankCodes; 0: made since), under mu.
	rank int32
}

// navState is the NAV sink's copy of schemes and nav_latest (about 16 k
// rows): loaded when a run's first batch arrives and kept current with
// every batch it commits, so a batch sends Postgres only what changes
// something. It is a cache, never the truth: every statement it shapes is
// still guarded in SQL (ON CONFLICT, the forward-only WHERE, the version
// in the scheme update's WHERE), and any error drops it, so the next batch
// reads the tables again.
type navState struct {
	mu     sync.RWMutex
	loaded bool
	// by pointer: a batch reads a scheme's state for every row and moves
	// it forward in place, without copying or hashing it again
	schemes map[string]*schemeState
	// newest is the newest nav_latest date of all: a row dated after it
	// is no scheme's latest, which answers holds for most rows of a
	// backfill (each day after every stored one) without a lookup.
	newest fund.Date
	epoch  uint64 // counts loads: a plan's pointers are into load epoch
	marks  uint64 // counts plans (schemeState.mark)
}

// rankCodes numbers the entries of schemes in code order from 1: plan
// sorts a batch by these numbers, not by comparing codes. The caller holds
// mu for writing, or the map is its own.
func rankCodes(schemes map[string]*schemeState) {
	codes := make([]string, 0, len(schemes))
	for c := range schemes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for i, c := range codes {
		schemes[c].rank = int32(i + 1)
	}
}

// mutable is the scheme's state to change, added if missing; the caller
// holds mu for writing.
func (st *navState) mutable(code string) *schemeState {
	s := st.schemes[code]
	if s == nil {
		s = &schemeState{}
		st.schemes[code] = s
	}
	return s
}

func (st *navState) drop() {
	st.mu.Lock()
	st.loaded, st.schemes, st.newest = false, nil, fund.Date{}
	st.mu.Unlock()
}

// ensure loads the state if it is not loaded.
func (st *navState) ensure(ctx context.Context, pool *pgxpool.Pool) error {
	st.mu.RLock()
	ok := st.loaded
	st.mu.RUnlock()
	if ok {
		return nil
	}
	m, err := loadNAVState(ctx, pool)
	if err != nil {
		return err
	}
	rankCodes(m) // not yet shared
	var newest fund.Date
	for _, s := range m {
		if s.latestDate.Compare(newest) > 0 {
			newest = s.latestDate
		}
	}
	st.mu.Lock()
	st.loaded, st.schemes, st.newest = true, m, newest
	st.epoch++
	st.mu.Unlock()
	return nil
}

func loadNAVState(ctx context.Context, pool *pgxpool.Pool) (map[string]*schemeState, error) {
	m := make(map[string]*schemeState, 20000)
	rows, err := pool.Query(ctx, `SELECT code, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc,
		version, valid_from FROM schemes`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var code string
		s := &schemeState{}
		var vf time.Time
		a := &s.attrs
		if err := rows.Scan(&code, &a.Name, &a.ISINGrowth, &a.ISINReinvest, &a.Plan, &a.Option, &a.Category, &a.SchemeType, &a.AMC,
			&s.version, &vf); err != nil {
			rows.Close()
			return nil, err
		}
		s.validFrom = fund.DateOf(vf)
		m[code] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	latest, err := LatestNAVs(ctx, pool)
	if err != nil {
		return nil, err
	}
	for code, l := range latest {
		s := m[code]
		if s == nil {
			s = &schemeState{}
			m[code] = s
		}
		s.latestDate, s.latestNAV = l.Date, l.NAV
	}
	return m, nil
}

// latest is the state's nav_latest rows, as LatestNAVs gives them.
func (st *navState) latest() map[string]fund.DatedNAV {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make(map[string]fund.DatedNAV, len(st.schemes))
	for code, s := range st.schemes {
		if !s.latestDate.IsZero() {
			out[code] = fund.DatedNAV{Date: s.latestDate, NAV: s.latestNAV}
		}
	}
	return out
}

// Holds reports whether rec is already stored as it is: its (scheme, date)
// is the scheme's newest in nav_latest, with the same NAV, and the scheme
// master says what rec says (so it would not make a version either).
// Writing such a row changes nothing in Postgres. An unloaded state holds
// nothing.
func (st *navState) holds(rec fund.NAVRecord) bool {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if rec.Date.Compare(st.newest) > 0 {
		return false
	}
	s, ok := st.schemes[rec.SchemeCode]
	return ok && s.version > 0 && !s.latestDate.IsZero() && rec.Date == s.latestDate &&
		rec.NAV.Equal(s.latestNAV) && attrsOf(rec) == s.attrs
}
