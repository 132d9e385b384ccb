# Strata's build. `make help` lists the targets.
GO        ?= go
PREFIX    ?= /usr/local
BIN       := bin/strata
FUZZTIME  ?= 20s
# Debian packages the tests and the demo use (installed by `make deps`).
DEB_PACKAGES := busybox-static skopeo umoci fuse3 fuse-overlayfs debootstrap attr uidmap fio docker-registry buildah apache2-utils hyperfine runc crun slirp4netns

.PHONY: build install test demo bench fuzz lint deps help

build: ## build bin/strata, bin/strata-runtime (and the bin/strata-fs link)
	@# Static and cgo-free: the pure-Go user and DNS lookups start faster.
	@# Every container start runs the CLI once and strata-runtime (the
	@# runtime alone, which starts in a third of the CLI's time) twice:
	@# monitor and init (measured in docs/benchmarks.md).
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/strata
	CGO_ENABLED=0 $(GO) build -o bin/strata-runtime ./cmd/strata-runtime
	ln -sf strata bin/strata-fs

install: build ## install strata, strata-runtime and strata-fs into $(PREFIX)/bin (and the mount -t fuse.strata-fs helper)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/strata
	install -D -m 0755 bin/strata-runtime $(DESTDIR)$(PREFIX)/bin/strata-runtime
	ln -sf strata $(DESTDIR)$(PREFIX)/bin/strata-fs
	install -d $(DESTDIR)/sbin
	ln -sf $(PREFIX)/bin/strata $(DESTDIR)/sbin/mount.fuse.strata-fs

test: lint ## the full test suite, as CI runs it (race detector on; the filesystem also on one CPU)
	@# Unprivileged tests need /dev/fuse usable by everyone, as distributions
	@# ship it; set it once here so that packages testing in parallel do not
	@# race to change and restore it.
	@if [ "$$(id -u)" = 0 ] && [ -c /dev/fuse ]; then chmod 666 /dev/fuse; fi
	$(GO) test -race -timeout 20m -count=1 ./...
	GOMAXPROCS=1 $(GO) test -timeout 10m -count=1 ./fs/...

demo: deps build ## build a busybox image from Debian's busybox-static and show it off
	./scripts/demo.sh $(BIN)

bench: build ## Go benchmarks of every package (see bench/ and docs/benchmarks.md for the rest)
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

deps: ## install the Debian packages the tests need (as root; a no-op when present)
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all present"; \
	elif [ "$$(id -u)" != 0 ]; then echo "deps: missing$$missing (run make deps as root)"; \
	else echo "deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	$(GO) mod download

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'
