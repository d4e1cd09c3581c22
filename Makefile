# Release builds of kura. `make` (or `make build`) builds ./kura for this
# machine; `make release` builds static linux/amd64 and linux/arm64
# binaries into dist/ with their sha256 checksums; `make image` builds the
# container image from the linux/amd64 binary without pulling anything.
# Version, commit and build date are set with -ldflags (kura version
# prints them).

VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
IMAGE      ?= kura:$(VERSION)
DIST       ?= dist
GO         ?= go

PKG     := github.com/kura-dev/kura
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).BuildDate=$(BUILD_DATE)
GOFLAGS_RELEASE := -trimpath -ldflags "$(LDFLAGS)"
PLATFORMS := linux/amd64 linux/arm64

.PHONY: build install release checksums image-context image clean

# OUT is where build writes the binary.
OUT ?= kura
build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_RELEASE) -o $(OUT) ./cmd/kura

# install puts kura in $(PREFIX)/bin (default /usr/local/bin).
PREFIX ?= /usr/local
install: build
	install -D -m 0755 $(OUT) $(DESTDIR)$(PREFIX)/bin/kura

release: $(foreach p,$(PLATFORMS),$(DIST)/kura-$(VERSION)-$(subst /,-,$(p))) checksums

$(DIST)/kura-$(VERSION)-%:
	@mkdir -p $(DIST)
	CGO_ENABLED=0 GOOS=$(word 1,$(subst -, ,$*)) GOARCH=$(word 2,$(subst -, ,$*)) \
		$(GO) build $(GOFLAGS_RELEASE) -o $@ ./cmd/kura

checksums:
	cd $(DIST) && sha256sum kura-$(VERSION)-* > SHA256SUMS && cat SHA256SUMS

# image-context lays out the build context of deploy/Dockerfile.release.
image-context: $(DIST)/kura-$(VERSION)-linux-amd64
	rm -rf $(DIST)/image && mkdir -p $(DIST)/image/rootfs/etc/ssl/certs
	mkdir -m 0700 $(DIST)/image/rootfs/data $(DIST)/image/rootfs/data/backups
	mkdir -m 1777 $(DIST)/image/rootfs/tmp
	cp $(DIST)/kura-$(VERSION)-linux-amd64 $(DIST)/image/rootfs/kura
	cp /etc/ssl/certs/ca-certificates.crt $(DIST)/image/rootfs/etc/ssl/certs/

image: image-context
	docker build -f deploy/Dockerfile.release -t $(IMAGE) \
		--build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg BUILD_DATE=$(BUILD_DATE) \
		$(DIST)/image
	docker image inspect -f '{{.Size}}' $(IMAGE) | awk '{printf "$(IMAGE): %.1f MB\n", $$1/1e6}'

clean:
	rm -rf $(DIST) kura
