# greptime_events exporter: see README.md for what each target does.
GO      ?= go
BIN     := $(CURDIR)/bin
OCB     := $(BIN)/builder
OTELCOL := $(CURDIR)/_build/otelcol-greptime-events

.PHONY: test build run generate

## test: every test, with the race detector (what CI runs)
test:
	$(GO) test -race -count=1 ./...

## build: the otelcol-greptime-events distribution, into _build/
build: $(OTELCOL)

$(OCB):
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@v0.165.0

$(OTELCOL): $(OCB) builder-config.yaml go.mod go.sum $(wildcard *.go) $(wildcard internal/*/*.go)
	$(OCB) --config builder-config.yaml

## run: the built collector with examples/collector.yaml
run: build
	$(OTELCOL) --config examples/collector.yaml

## generate: internal/metadata and the generated tests, from metadata.yaml
generate:
	d=$$(mktemp -d) && ln -s "$(CURDIR)" "$$d/greptimeeventsexporter" && \
	$(GO) -C internal/tools tool mdatagen "$$d/greptimeeventsexporter/metadata.yaml"; rc=$$?; rm -rf "$$d"; exit $$rc
