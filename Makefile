# greptime_events exporter: docs/development.md says what each target does.
GO           ?= go
BIN          := $(CURDIR)/bin
OCB          := $(BIN)/builder
OTELCOL      := $(CURDIR)/_build/otelcol-greptime-events
TELEMETRYGEN := $(BIN)/telemetrygen
DEMO         := $(BIN)/greptime-events-demo

FUZZTIME     ?= 5m
# Minimizing an input found near the end of -fuzztime makes go test fail with
# "context deadline exceeded"; the short smoke run in test does not minimize.
FUZZMINIMIZE ?= 10s
# package:target for each fuzz target
FUZZ_TARGETS := ./internal/mapping:FuzzMapping ./internal/mapping:FuzzRecord .:FuzzPush ./internal/jsonenc:FuzzJSON ./internal/jsonb:FuzzEncode

.PHONY: test build run demo standin telemetrygen generate bench fuzz fuzz-smoke lint lint-fmt lint-vet lint-golangci lint-generate lint-tidy

## test: every test with the race detector: the exporter's, then the end-to-end
## tests against the built collector (what CI runs)
test: $(OTELCOL) $(TELEMETRYGEN)
	$(GO) test -race -count=1 ./...
	$(MAKE) fuzz-smoke
	OTELCOL_BIN=$(OTELCOL) TELEMETRYGEN_BIN=$(TELEMETRYGEN) $(GO) -C e2e test -race -count=1 ./...

## fuzz-smoke: each fuzz target for 10s (part of test)
fuzz-smoke:
	$(MAKE) fuzz FUZZTIME=10s FUZZMINIMIZE=0

## fuzz: each fuzz target for FUZZTIME (default 5m); a failing input lands in testdata/fuzz
fuzz:
	for pt in $(FUZZ_TARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$${pt#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) "$${pt%%:*}" || exit 1; \
	done

## bench: the exporter and the collector's otlp exporter on the same batches,
## in BENCH_ROUNDS interleaved rounds (each round runs every sub-benchmark once,
## so a change in the machine's load hits both sides), then benchstat's
## comparison of the two (CPU, wall time and allocations per record, with
## their spread and significance)
BENCH_ROUNDS ?= 6
bench:
	$(GO) test -c -o $(BIN)/greptime-events-bench.test .
	rm -f bench.out
	for i in $$(seq $(BENCH_ROUNDS)); do \
		$(BIN)/greptime-events-bench.test -test.run '^$$' -test.bench 'BenchmarkMapping|BenchmarkPush|BenchmarkPayload' -test.count 1 | tee -a bench.out || exit 1; \
	done
	$(GO) -C internal/tools tool benchstat -filter '.name:Push' -col /exporter -row /batch $(CURDIR)/bench.out
	$(GO) -C internal/tools tool benchstat -filter '.name:Payload' -col /encoder $(CURDIR)/bench.out

# make load and make load-backpressure (e2e/cmd/load; docs/BENCHMARKS.md has the results)
LOAD             := $(BIN)/greptime-events-load
LOAD_DURATION    ?= 60s
LOAD_STEP        ?= 10s
LOAD_BP_DURATION ?= 60s
LOAD_FLAGS       ?=

.PHONY: load load-backpressure

## load: the built collector under sustained OTLP load: for greptime_events and for
## the otlp exporter (the peer), the highest rate with no loss (a search in LOAD_STEP
## steps, then LOAD_DURATION at that rate), collector CPU s per 1,000 events, peak RSS
load: $(OTELCOL)
	$(GO) -C e2e build -o $(LOAD) ./cmd/load
	$(LOAD) -collector $(OTELCOL:$(CURDIR)/%=%) -duration $(LOAD_DURATION) -step $(LOAD_STEP) $(LOAD_FLAGS)

## load-backpressure: GreptimeDB down for LOAD_BP_DURATION under load: the collector's
## RSS every second with the items sizer (default) and the bytes sizer
load-backpressure: $(OTELCOL)
	$(GO) -C e2e build -o $(LOAD) ./cmd/load
	$(LOAD) -mode backpressure -collector $(OTELCOL:$(CURDIR)/%=%) -duration $(LOAD_BP_DURATION) $(LOAD_FLAGS)

## build: the otelcol-greptime-events distribution, into _build/
build: $(OTELCOL)

OCB_VERSION  := v0.165.0

$(OCB):
	@echo "installing ocb $(OCB_VERSION) into bin/builder (go install; first time: under a minute on 2 cores)"
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

# ocb writes the sources and go.mod into _build/ and fetches the modules
# (--skip-compilation; it logs each phase); the compile is then ocb's own
# `go build -trimpath -ldflags="-s -w"` with CGO_ENABLED=0, run here with -v,
# because ocb keeps go build's output until it ends. go build -v names each
# package it compiles (about 970 on a first build): the loop prints one line
# per 50 of them with the time so far, passes anything else (compile errors)
# through, and exits with go build's status. (A shell loop, not awk: mawk
# reads a pipe in blocks, which would print the progress in bursts.)
$(OTELCOL): $(OCB) builder-config.yaml go.mod go.sum $(filter-out %_test.go,$(wildcard *.go) $(wildcard internal/*/*.go))
	@echo "building $(OTELCOL:$(CURDIR)/%=%) with ocb $(OCB_VERSION) (first build: about 5 minutes on 2 cores; after a change: seconds)"
	@echo "ocb: generating the sources in _build/ and fetching the modules (first build: about a minute)"
	$(OCB) --config builder-config.yaml --skip-compilation
	@cd _build && total=$$(CGO_ENABLED=0 $(GO) list -deps . | wc -l) && total=$$((total)) && \
	echo "go build: compiling the $$total packages of the distribution, those not in the build cache (a line per 50)" && \
	start=$$(date +%s) && \
	{ CGO_ENABLED=0 $(GO) build -v -trimpath -ldflags='-s -w' -o $(notdir $(OTELCOL)) . 2>&1; echo "go-build-exit $$?"; } | { \
		n=0; rc=1; \
		while IFS= read -r line; do \
			case $$line in \
			"go-build-exit "*) rc=$${line#go-build-exit } ;; \
			""|*[\ :#]*) printf '%s\n' "$$line" ;; \
			*) n=$$((n + 1)); [ $$((n % 50)) -ne 0 ] || { s=$$(($$(date +%s) - start)); \
				printf '  %4d/%d packages compiled, %dm%02ds  (%s)\n' $$n $$total $$((s / 60)) $$((s % 60)) "$$line"; } ;; \
			esac; \
		done; \
		s=$$(($$(date +%s) - start)); \
		[ "$$rc" -ne 0 ] || printf 'built %s in %dm%02ds: %d packages compiled, %d from the build cache\n' \
			"$(OTELCOL:$(CURDIR)/%=%)" $$((s / 60)) $$((s % 60)) $$n $$((total - n)); \
		exit $$rc; }

# telemetrygen, the version pinned by the tool directive in e2e/go.mod
$(TELEMETRYGEN): e2e/go.mod e2e/go.sum
	$(GO) -C e2e build -o $(TELEMETRYGEN) github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen

## telemetrygen: contrib's telemetrygen into bin/, to send OTLP by hand (README: Try it by hand)
telemetrygen: $(TELEMETRYGEN)

## run: the built collector with examples/collector.yaml
run: build
	$(OTELCOL) --config examples/collector.yaml

## demo: builds the collector, sends events over OTLP, prints the event tables
demo: $(OTELCOL)
	$(GO) -C e2e build -o $(DEMO) ./cmd/demo
	$(DEMO) -collector $(OTELCOL:$(CURDIR)/%=%) -config examples/collector.yaml

## standin: the in-memory GreptimeDB-protocol stand-in on 127.0.0.1:4001 (gRPC) and
## 127.0.0.1:4000 (a subset of its HTTP SQL API), for make run
standin:
	$(GO) run ./cmd/greptime-standin

## generate: internal/metadata and the generated tests, from metadata.yaml
generate:
	d=$$(mktemp -d) && ln -s "$(CURDIR)" "$$d/greptimeeventsexporter" && \
	$(GO) -C internal/tools tool mdatagen "$$d/greptimeeventsexporter/metadata.yaml"; rc=$$?; rm -rf "$$d"; exit $$rc

# The three Go modules: the exporter, the end-to-end tests, the pinned tools.
MODULES := . e2e internal/tools
# gofmt of the toolchain that $(GO) runs (not whichever gofmt is first on PATH)
GOFMT   ?= $(shell $(GO) env GOROOT)/bin/gofmt

GOLANGCI_LINT := $(BIN)/golangci-lint

# golangci-lint, the version pinned by the tool directive in internal/tools/go.mod
$(GOLANGCI_LINT): internal/tools/go.mod internal/tools/go.sum
	@echo "lint: building golangci-lint (pinned in internal/tools/go.mod; a minute or two the first time)"
	$(GO) -C internal/tools build -o $(GOLANGCI_LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

## lint: gofmt, go vet (root and e2e modules), golangci-lint with .golangci.yml (root
## and e2e modules; internal/tools holds no Go code), generated files current (make
## generate changes nothing), go mod tidy changes nothing (every module); runs each
## check and names every one that failed (CI runs it before test)
lint: $(GOLANGCI_LINT)
	@git rev-parse --is-inside-work-tree >/dev/null || { echo "lint: needs a git checkout"; exit 1; }
	@failed=; for c in fmt vet golangci generate tidy; do \
		$(MAKE) --no-print-directory lint-$$c || failed="$$failed lint-$$c"; \
	done; \
	if [ -n "$$failed" ]; then echo "lint: FAILED:$$failed"; exit 1; fi; \
	echo "lint: ok"

# lint-fmt: gofmt -l over every .go file git tracks or would track (not ignored ones)
lint-fmt:
	@echo "lint: gofmt -l on every tracked and untracked-but-not-ignored .go file (root and e2e modules)"
	@out=$$(git ls-files -z --cached --others --exclude-standard --deduplicate -- '*.go' | \
		xargs -0 -r sh -c 'for f; do [ ! -f "$$f" ] || printf "%s\0" "$$f"; done' sh | \
		xargs -0 -r $(GOFMT) -l 2>&1) && [ -z "$$out" ] || { \
		printf '%s\n' "$$out"; \
		echo "lint: gofmt: the files above are not gofmt-formatted (or do not parse): run $(GOFMT) -w on them"; exit 1; }

# lint-vet: go vet in the root module and in e2e
lint-vet:
	@rc=0; \
	echo "lint: go vet ./... (root module)"; \
	$(GO) vet ./... || { echo "lint: go vet failed in the root module"; rc=1; }; \
	echo "lint: go -C e2e vet ./... (e2e module)"; \
	$(GO) -C e2e vet ./... || { echo "lint: go vet failed in the e2e module"; rc=1; }; \
	exit $$rc

# lint-golangci: golangci-lint with .golangci.yml in the root and e2e modules
lint-golangci: $(GOLANGCI_LINT)
	@rc=0; \
	echo "lint: golangci-lint run ./... (root module)"; \
	$(GOLANGCI_LINT) run ./... || { echo "lint: golangci-lint found problems in the root module"; rc=1; }; \
	echo "lint: golangci-lint run ./... (e2e module)"; \
	(cd e2e && $(GOLANGCI_LINT) run --config ../.golangci.yml ./...) || { echo "lint: golangci-lint found problems in the e2e module"; rc=1; }; \
	exit $$rc

# lint-generate: make generate into the tree, then git diff against a snapshot of the
# tree taken just before (a temporary index), so it changes nothing on a clean checkout
# and does not count uncommitted changes as stale. Covers every path mdatagen writes:
# internal/metadata/, internal/metadatatest/, generated_*_test.go, documentation.md.
lint-generate:
	@echo "lint: generated files: make generate (mdatagen, internal/tools/go.mod) must change nothing in the tree"
	@snap=$$(mktemp) && trap 'rm -f "$$snap" "$$snap.lock"' EXIT && \
	cp "$$(git rev-parse --git-path index)" "$$snap" && \
	GIT_INDEX_FILE=$$snap git -c advice.addEmbeddedRepo=false add -A -- . && \
	{ $(MAKE) -s --no-print-directory generate || { echo "lint: make generate failed"; exit 1; }; } && \
	new=$$(GIT_INDEX_FILE=$$snap git ls-files --others --exclude-standard) && \
	if GIT_INDEX_FILE=$$snap git --no-pager diff --exit-code -- . && [ -z "$$new" ]; then :; else \
		[ -z "$$new" ] || printf 'new file: %s\n' $$new; \
		echo "lint: generated files are stale: make generate changed the files above (they are now regenerated in the tree; review and commit them)"; \
		exit 1; \
	fi

# lint-tidy: go mod tidy -diff in every module (prints what tidy would change, changes nothing)
lint-tidy:
	@rc=0; for m in $(MODULES); do \
		echo "lint: go mod tidy leaves $$m/go.mod and $$m/go.sum unchanged"; \
		$(GO) -C $$m mod tidy -diff || { echo "lint: module $$m is not tidy (diff above): run go -C $$m mod tidy and commit go.mod and go.sum"; rc=1; }; \
	done; exit $$rc
