# fwaudit — build and test.
#   make            build bin/fwaudit
#   sudo make test  install test dependencies, vet, unit tests (with fuzz
#                   seeds), every fuzz target for FUZZSHORT and the
#                   network-namespace kernel tests
#   make fuzz       every fuzz target for FUZZTIME (default 10m)
#   make deb        build the Debian package into dist/ (packaging/)
GO       ?= go
PATH     := $(PATH):/usr/sbin:/sbin
export PATH

PKGS     := ./cmd/... ./scan/... ./firewall/... ./report/... ./suggest/... ./apply/... ./scripts/gen-man
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test deps vet lint unit e2e e2e-all-rulesets fuzz fuzz-short bench clean deb

all: build

build:
	CGO_ENABLED=0 $(GO) build -ldflags "-X github.com/fwaudit/fwaudit/cmd.version=$(VERSION)" -o bin/fwaudit ./cmd/fwaudit

deps:
	@./scripts/test-deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# The Ansible collection (ansible/); ansible-lint comes from test-deps.sh.
# It runs with a home of its own, emptied each time, and finds the collection
# only through ANSIBLE_COLLECTIONS_PATH (this checkout): `--offline` installs
# nothing, so a role or collection that an earlier run left in
# ~/.cache/ansible-compat or ~/.ansible must not be what makes it pass.
LINTHOME = $(CURDIR)/.lint-home
lint:
	rm -rf "$(LINTHOME)" && mkdir -p "$(LINTHOME)"
	cd ansible/collections/ansible_collections/fwaudit/fleet && \
	HOME="$(LINTHOME)" XDG_CACHE_HOME="$(LINTHOME)/.cache" XDG_CONFIG_HOME="$(LINTHOME)/.config" \
	ANSIBLE_HOME="$(LINTHOME)/.ansible" ANSIBLE_LOCAL_TEMP="$(LINTHOME)/.ansible/tmp" \
	ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/ansible/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False \
	ansible-lint --offline --nocolor; rc=$$?; rm -rf "$(LINTHOME)"; exit $$rc

# Unit tests; `go test` also runs every fuzz target on its seed corpus.
unit:
	$(GO) test -count=1 $(PKGS)

# Kernel tests in throwaway network namespaces; they skip loudly without root.
e2e:
	$(GO) test -count=1 -timeout 30m ./e2e/...

test: deps vet lint unit fuzz-short e2e

# Never wider over every ruleset of testdata/ and e2e/testdata/ (make test
# runs a fixed subset; docs/TESTING.md says why and how long this takes).
e2e-all-rulesets:
	FWAUDIT_NEVERWIDER_ALL=1 $(GO) test -count=1 -timeout 60m -run TestNeverWiderEveryRuleset -parallel 4 -v ./e2e/

# Every fuzz target of every package, one at a time, one worker each
# (docs/TESTING.md). `make fuzz` runs each for FUZZTIME; `make test` runs
# each for FUZZSHORT. A crasher is written to PKG/testdata/fuzz/TARGET/:
# keep it there as a regression case.
FUZZPKGS  := ./scan ./firewall ./cmd ./suggest
FUZZTIME  ?= 10m
FUZZSHORT ?= 500x
define fuzz_each
	@for pkg in $(FUZZPKGS); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f for $(1)"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(1) -fuzzminimizetime $(2) -parallel 1 -timeout 0 $$pkg >/tmp/fwaudit-fuzz.$$$$.log 2>&1 \
				|| { cat /tmp/fwaudit-fuzz.$$$$.log; rm -f /tmp/fwaudit-fuzz.$$$$.log; exit 1; }; \
			tail -n 3 /tmp/fwaudit-fuzz.$$$$.log | grep 'elapsed' | tail -n 1; \
		done; \
	done; rm -f /tmp/fwaudit-fuzz.$$$$.log
endef

fuzz-short:
	$(call fuzz_each,$(FUZZSHORT),1s)

fuzz:
	$(call fuzz_each,$(FUZZTIME),10s)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin dist .lint-home

# The Debian package, built with dpkg-deb (packaging/build-deb.sh).
DEBDIR ?= dist
deb:
	GO="$(GO)" VERSION="$(VERSION)" ./packaging/build-deb.sh "$(DEBDIR)"
