run:
	go run ./cmd/parley

test:
	./test.sh

lint:
	gofmt -l $$(git ls-files "*.go")
	go vet ./...

.PHONY: run test lint
