run:
	go run ./cmd/parley

test:
	./test.sh

# The container image from a static binary built here (see Dockerfile);
# CONTAINER=docker to use Docker instead of Podman.
CONTAINER ?= podman
image:
	mkdir -p dist
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o dist/parley ./cmd/parley
	cp /etc/ssl/certs/ca-certificates.crt dist/
	$(CONTAINER) build -t parley .

lint:
	gofmt -l $$(git ls-files "*.go")
	go vet ./...

.PHONY: run test lint image
