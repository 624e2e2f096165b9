# Portico's build. `make test` is what CI runs (.ci/run); it installs what it
# needs through the Go toolchain, npm (web/, pinned by web/package-lock.json)
# and, for the browser suite, apt-get (Debian's chromium, if missing).

SHELL := /usr/bin/env bash -o pipefail
.DEFAULT_GOAL := test

GO ?= go
BUF := $(GO) tool -modfile=tools/go.mod buf
NPM ?= npm
# The browser the e2e suite drives; installed with apt-get when missing.
CHROMIUM ?= /usr/bin/chromium
# The PostgreSQL server binaries that the tests run their throwaway clusters
# with (internal/pgtest); Debian's postgresql is installed when none match.
POSTGRES_INITDB ?= /usr/lib/postgresql/*/bin/initdb
# npm ci writes this file; it is older than the lock file when node_modules
# is stale.
WEB_DEPS := web/node_modules/.package-lock.json

.PHONY: run
run: ## Run the gateway with the reference service on an embedded store
	$(GO) run ./cmd/portico

.PHONY: test
test: checkgenerate lint shorttest walkthrough fuzz soak e2e ## Everything CI checks

.PHONY: shorttest
shorttest: postgres ## Unit and integration tests, with the race detector
	$(GO) test -race -cover -short ./...

.PHONY: walkthrough
walkthrough: ## Run README's "Add Portico CORS to your own service" in a temporary module: generate, build, serve, preflight (offline)
	$(GO) test -count=1 -run '^TestReadmeOwnService$$' ./internal/walkthrough

# Each fuzz target runs for a count of inputs (about 10 s each here), not a
# duration: Go 1.26's -fuzztime deadline can race the workers' shutdown and
# fail a target that found nothing (go.dev/issue/75804, fixed in Go 1.27).
# FUZZTIME=3m runs each for that long instead (RELIABILITY.md's longer run).
FUZZ_TARGETS := ./gateway/internal/origin:FuzzParse:200000x ./gateway/internal/origin:FuzzMatch:250000x \
	./gateway/internal/headerlist:FuzzAccepts:100000x ./gateway/internal/pathindex:FuzzGet:20000x \
	./gateway:FuzzGateway:60000x

.PHONY: fuzz
fuzz: ## Run each fuzz target for a fixed count of inputs (or FUZZTIME); a failing input is written to the package's testdata/fuzz/
	@for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*} rest=$${target#*:}; name=$${rest%%:*} count=$${rest#*:}; \
		budget=$${FUZZTIME:-$$count}; \
		echo "fuzz: $$name ($$pkg) for $$budget"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget $$pkg || exit 1; \
	done

.PHONY: soak
soak: postgres ## The soak and fault tests against the built binary on PostgreSQL (PORTICO_SOAK_DURATION, default 60s)
	$(GO) test -count 1 -timeout 10m -run '^(TestSoak|TestFault)' -v ./cmd/portico | grep -Ev '^\s+\{"time"'

.PHONY: bench
bench: ## Benchmarks of the CORS hot path
	$(GO) test -run '^$$' -bench . -benchmem ./gateway/...

.PHONY: benchmarks
benchmarks: ## Refresh BENCHMARKS.md's figures into .tmp/bench/: benchstat tables, issue 8's targets, loopback load A/B (under 10 minutes)
	GO=$(GO) scripts/bench

.PHONY: benchstore
benchstore: postgres ## GetProfile and UpdateProfile calls/s on each store: SQLite, PostgreSQL (throwaway clusters)
	$(GO) test -run '^$$' -bench Store -count 5 ./service/

.PHONY: coldstart
coldstart: ## Process start to first served request (TestDockerfile logs the release binary's size)
	$(GO) test -run '^$$' -bench ColdStart -benchtime 20x ./cmd/portico
	$(GO) test -run '^TestDockerfile$$' -v ./cmd/portico | grep 'binary size'

.PHONY: generate
generate: $(WEB_DEPS) ## Vendor third-party protos, then buf generate into gen/ and web/src/gen/
	$(GO) mod tidy
	$(GO) run ./internal/cmd/vendorproto third_party
	$(BUF) format -w proto
	$(BUF) generate

.PHONY: checkgenerate
checkgenerate: $(WEB_DEPS) ## Fail if gen/, web/src/gen/ or third_party/ differ from a fresh generation
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) run ./internal/cmd/vendorproto "$$tmp/third_party" && \
	diff -r third_party "$$tmp/third_party" && \
	$(BUF) generate -o "$$tmp" && \
	diff -r gen "$$tmp/gen" && \
	diff -r web/src/gen "$$tmp/web/src/gen" && \
	echo "checkgenerate: gen/, web/src/gen/ and third_party/ match a fresh generation"

.PHONY: lint
lint: ## buf lint and format, gofmt, go vet
	$(BUF) lint
	$(BUF) format -d --exit-code proto
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')) && \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	@touch $@

.PHONY: webdeps
webdeps: $(WEB_DEPS) ## Install web/'s pinned npm packages (npm ci) when missing or stale

.PHONY: chromium
chromium: ## Install Debian's chromium with apt-get when $(CHROMIUM) is missing (as root)
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "chromium: $(CHROMIUM) missing, installing Debian's chromium (about a minute)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

.PHONY: postgres
postgres: ## Install Debian's postgresql with apt-get when no $(POSTGRES_INITDB) exists (as root); tests start their own servers
	@if ! compgen -G '$(POSTGRES_INITDB)' >/dev/null; then \
		echo "postgres: no $(POSTGRES_INITDB), installing Debian's postgresql (about a minute)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

.PHONY: e2e
e2e: $(WEB_DEPS) chromium ## Browser suite: both transports in headless Chromium against the portico binary
	cd web && node_modules/.bin/tsc --noEmit
	cd web && node build.mjs
	$(GO) build -o .tmp/e2e/portico ./cmd/portico
	cd web && PORTICO_BIN="$(CURDIR)/.tmp/e2e/portico" CHROMIUM="$(CHROMIUM)" \
		node --test --test-reporter=spec e2e/

.PHONY: demo
demo: $(WEB_DEPS) ## Serve the demo page on 127.0.0.1:5173 against a local portico on :8080
	cd web && node build.mjs
	$(GO) build -o .tmp/bin/portico ./cmd/portico
	@PORTICO_ORIGINS_WEB=http://127.0.0.1:5173 .tmp/bin/portico & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid' EXIT INT TERM; \
	token=$$(.tmp/bin/portico dev-token --sub alice --ttl 12h) || exit 1; \
	echo "demo: open http://127.0.0.1:5173/?token=$$token (a development token for alice; Ctrl-C stops the page server and portico)"; \
	node web/serve.mjs web/dist 5173
