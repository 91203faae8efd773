# fundflow — the two commands that do everything on a fresh Debian 12 machine:
#   make demo   services up, migrate, load generated and real data, print what landed
#   make test   services up, every test against the real services
SHELL := /bin/bash
GO ?= go
PKGS := ./...

.PHONY: all build test demo bench bench-instalments fuzz services services-down lint vet clean schema-snapshot

all: build

build:
	$(GO) build -buildvcs=auto -o bin/fundflow ./cmd/fundflow

# Tests run Postgres without fsync (FUNDFLOW_PG_FAST=1); the data is throwaway.
services:
	@FUNDFLOW_PG_FAST=$${FUNDFLOW_PG_FAST:-1} scripts/services.sh up >/dev/null

services-down:
	scripts/services.sh down

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

test: services vet
	source $${FUNDFLOW_STATE:-.state}/env && $(GO) test -count=1 -timeout 40m $(PKGS)

demo:
	scripts/demo.sh

# Rewrite sql/postgres/schema.snapshot (the schema every Postgres migration makes
# on an empty database) after adding a migration; commit it with the migration.
schema-snapshot: services
	source $${FUNDFLOW_STATE:-.state}/env && $(GO) test -count=1 -run '^TestSchemaSnapshot$$' ./internal/migrate -update

# Benchmarks report ratios against raw baselines measured in the same run.
bench: services
	source $${FUNDFLOW_STATE:-.state}/env && $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m $(PKGS) | tee bench.out

# The daily instalment run alone: 1,000,000 plans due on one business day
# (FUNDFLOW_BENCH_PLANS sets the scale), against a bare COPY of its rows.
bench-instalments: services
	source $${FUNDFLOW_STATE:-.state}/env && $(GO) test -run '^$$' -bench '^BenchmarkInstalmentRun1M$$' -benchtime 1x -timeout 30m ./plans/ | tee bench-instalments.out

# Run every fuzz target for FUZZTIME each (CI runs only their seed corpora, as tests).
FUZZTIME ?= 1m
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

lint:
	$(GO) run ./cmd/fundflow lint fundflow.example.yaml

clean:
	rm -rf bin bench.out bench-instalments.out
