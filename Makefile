# greptime_events exporter: see README.md for what each target does.
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
FUZZ_TARGETS := .:FuzzMapping .:FuzzRecord ./internal/jsonenc:FuzzJSON

.PHONY: test build run demo standin generate bench fuzz fuzz-smoke

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
## side by side (-count=6), then the medians and the push/peer ratios
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkMapping|BenchmarkPush|BenchmarkPayload' -count=6 . | tee bench.out
	$(GO) run ./internal/benchratio < bench.out

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

$(OCB):
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@v0.165.0

$(OTELCOL): $(OCB) builder-config.yaml go.mod go.sum $(filter-out %_test.go,$(wildcard *.go) $(wildcard internal/*/*.go))
	$(OCB) --config builder-config.yaml

# telemetrygen, the version pinned by the tool directive in e2e/go.mod
$(TELEMETRYGEN): e2e/go.mod e2e/go.sum
	$(GO) -C e2e build -o $(TELEMETRYGEN) github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen

## run: the built collector with examples/collector.yaml
run: build
	$(OTELCOL) --config examples/collector.yaml

## demo: builds the collector, sends events over OTLP, prints the event tables
demo: $(OTELCOL)
	$(GO) -C e2e build -o $(DEMO) ./cmd/demo
	$(DEMO) -collector $(OTELCOL:$(CURDIR)/%=%) -config examples/collector.yaml

## standin: the in-memory GreptimeDB-protocol stand-in on 127.0.0.1:4001, for make run
standin:
	$(GO) run ./cmd/greptime-standin

## generate: internal/metadata and the generated tests, from metadata.yaml
generate:
	d=$$(mktemp -d) && ln -s "$(CURDIR)" "$$d/greptimeeventsexporter" && \
	$(GO) -C internal/tools tool mdatagen "$$d/greptimeeventsexporter/metadata.yaml"; rc=$$?; rm -rf "$$d"; exit $$rc
