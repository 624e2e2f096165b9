# Portico's build. `make test` is what CI runs (.ci/run); it installs what it
# needs through the Go toolchain alone.

SHELL := /usr/bin/env bash -o pipefail
.DEFAULT_GOAL := test

GO ?= go
BUF := $(GO) tool -modfile=tools/go.mod buf

.PHONY: run
run: ## Run the gateway with the reference service on an embedded store
	$(GO) run ./cmd/portico

.PHONY: test
test: checkgenerate lint shorttest ## Everything CI checks

.PHONY: shorttest
shorttest: ## Unit and integration tests, with the race detector
	$(GO) test -race -cover -short ./...

.PHONY: bench
bench: ## Benchmarks of the CORS hot path
	$(GO) test -run '^$$' -bench . -benchmem ./gateway/...

.PHONY: generate
generate: ## Vendor third-party protos, then buf generate into gen/
	$(GO) mod tidy
	$(GO) run ./internal/cmd/vendorproto third_party
	$(BUF) generate

.PHONY: checkgenerate
checkgenerate: ## Fail if gen/ or third_party/ differ from a fresh generation
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) run ./internal/cmd/vendorproto "$$tmp/third_party" && \
	diff -r third_party "$$tmp/third_party" && \
	$(BUF) generate -o "$$tmp" && \
	diff -r gen "$$tmp/gen" && \
	echo "checkgenerate: gen/ and third_party/ match a fresh generation"

.PHONY: lint
lint: ## buf lint and format, gofmt, go vet
	$(BUF) lint
	$(BUF) format -d --exit-code proto
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')) && \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
