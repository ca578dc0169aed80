# fwaudit — build and test.
#   make            build bin/fwaudit
#   sudo make test  install test dependencies, vet, unit tests (with fuzz
#                   seeds) and the network-namespace kernel tests
#   make deb        build the Debian package into dist/ (packaging/)
GO       ?= go
PATH     := $(PATH):/usr/sbin:/sbin
export PATH

PKGS     := ./cmd/... ./scan/... ./firewall/... ./report/... ./suggest/...
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test deps vet lint unit e2e fuzz bench clean deb

all: build

build:
	CGO_ENABLED=0 $(GO) build -ldflags "-X github.com/fwaudit/fwaudit/cmd.version=$(VERSION)" -o bin/fwaudit ./cmd/fwaudit

deps:
	@./scripts/test-deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# The Ansible collection (ansible/); ansible-lint comes from test-deps.sh.
lint:
	cd ansible/collections/ansible_collections/fwaudit/fleet && ansible-lint --offline --nocolor

# Unit tests; `go test` also runs every fuzz target on its seed corpus.
unit:
	$(GO) test -count=1 $(PKGS)

# Kernel tests in throwaway network namespaces; they skip loudly without root.
e2e:
	$(GO) test -count=1 -timeout 30m ./e2e/...

test: deps vet lint unit e2e

# Longer fuzzing of every parser, for development (not part of test).
FUZZTIME ?= 30s
fuzz:
	@for pkg in ./scan ./firewall; do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin dist

# The Debian package, built with dpkg-deb (packaging/build-deb.sh).
DEBDIR ?= dist
deb:
	GO="$(GO)" VERSION="$(VERSION)" ./packaging/build-deb.sh "$(DEBDIR)"
