// Command ffload is a closed-loop HTTP load generator for fundflow's query
// API, run as its own process by `make bench` (so the load and the server
// do not share a Go runtime). C workers each send one request at a time for
// the duration; each request's path is the template with {n} replaced by a
// random number in 1..N (a folio). It prints one JSON object: requests,
// errors by status, requests per second and latency percentiles.
//
//	ffload -url 'http://127.0.0.1:8080/v1/folios/BF{n}/portfolio' -n 1000000 \
//	       -token "$TOKEN" -c 16 -d 20s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type result struct {
	Requests   int64          `json:"requests"`
	OK         int64          `json:"ok"`
	Errors     map[string]int `json:"errors"` // by status code or "transport"
	Seconds    float64        `json:"seconds"`
	RPS        float64        `json:"rps"`
	P50Ms      float64        `json:"p50_ms"`
	P90Ms      float64        `json:"p90_ms"`
	P99Ms      float64        `json:"p99_ms"`
	MaxMs      float64        `json:"max_ms"`
	Concurrent int            `json:"concurrency"`
}

func main() {
	url := flag.String("url", "", "URL template; {n} becomes a random number in 1..N")
	n := flag.Int("n", 1, "N")
	tok := flag.String("token", "", "bearer token")
	c := flag.Int("c", 16, "concurrent workers")
	d := flag.Duration("d", 10*time.Second, "duration")
	warm := flag.Duration("warmup", time.Second, "unmeasured warm-up")
	flag.Parse()
	if *url == "" || *n < 1 || *c < 1 {
		flag.Usage()
		os.Exit(2)
	}
	tr := &http.Transport{MaxIdleConns: *c, MaxIdleConnsPerHost: *c, MaxConnsPerHost: *c, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	run := func(ctx context.Context, record bool) ([][]time.Duration, []map[string]int) {
		lat := make([][]time.Duration, *c)
		errs := make([]map[string]int, *c)
		var wg sync.WaitGroup
		for w := 0; w < *c; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				errs[w] = map[string]int{}
				rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				for ctx.Err() == nil {
					u := strings.ReplaceAll(*url, "{n}", strconv.Itoa(1+rng.IntN(*n)))
					req, _ := http.NewRequest("GET", u, nil)
					if *tok != "" {
						req.Header.Set("Authorization", "Bearer "+*tok)
					}
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						if ctx.Err() == nil {
							errs[w]["transport"]++
						}
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					el := time.Since(t0)
					if !record || ctx.Err() != nil {
						continue
					}
					if resp.StatusCode != http.StatusOK {
						errs[w][strconv.Itoa(resp.StatusCode)]++
						continue
					}
					lat[w] = append(lat[w], el)
				}
			}(w)
		}
		wg.Wait()
		return lat, errs
	}
	wctx, cancel := context.WithTimeout(context.Background(), *warm)
	run(wctx, false)
	cancel()
	ctx, cancel := context.WithTimeout(context.Background(), *d)
	t0 := time.Now()
	lat, errs := run(ctx, true)
	secs := time.Since(t0).Seconds()
	cancel()
	var all []time.Duration
	r := result{Errors: map[string]int{}, Seconds: secs, Concurrent: *c}
	for w := range lat {
		all = append(all, lat[w]...)
		for k, v := range errs[w] {
			r.Errors[k] += v
			r.Requests += int64(v)
		}
	}
	slices.Sort(all)
	r.OK = int64(len(all))
	r.Requests += r.OK
	r.RPS = float64(r.OK) / secs
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)-1))
		return float64(all[i].Microseconds()) / 1000
	}
	r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs = pct(0.50), pct(0.90), pct(0.99), pct(1)
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
