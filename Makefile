.PHONY: generate
generate:
	d=$$(mktemp -d) && ln -s "$(CURDIR)" "$$d/greptimeeventsexporter" && \
	go -C internal/tools tool mdatagen "$$d/greptimeeventsexporter/metadata.yaml"; rc=$$?; rm -rf "$$d"; exit $$rc
