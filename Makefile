# recoflow: run `make help` for the targets.
SHELL := /usr/bin/env bash -o pipefail
BIN   := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
export GOBIN := $(BIN)

# envtest runs the operator tests on a kube-apiserver and etcd that hack/envtest-assets.sh builds.
export KUBEBUILDER_ASSETS := $(BIN)/k8s

IMAGE_REGISTRY ?= localhost:5001
IMAGE_TAG      ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' charts/recoflow/Chart.yaml)
GO_TEST_FLAGS  ?= -timeout 30m

.PHONY: help
help: ## Show this help.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: run
run: ## Run the whole pipeline locally: embedded Kafka, ingest on :8080, clean, popularity on :8081.
	go run ./functions/local/cmd

.PHONY: test
test: envtest tools chromium ## Run every test: unit, Kafka end-to-end (embedded broker), envtest (real kube-apiserver), chart, Tiltfile, browser.
	go test $(GO_TEST_FLAGS) ./...

.PHONY: chromium
chromium: ## Install Chromium from Debian when missing, for the live page's browser test.
	hack/install-chromium.sh

.PHONY: envtest
envtest: ## Build kube-apiserver and etcd for envtest into bin/k8s (cached).
	hack/envtest-assets.sh

.PHONY: e2e
e2e: ## Run the e2e suite on a real one-node Kubernetes started on this machine (root; see README).
	hack/cluster/e2e.sh $(E2E_FLAGS)

.PHONY: bench
bench: ## Run the in-process benchmarks that docs/benchmarks.md reports (a few minutes).
	go test -run '^$$' -bench 'WindowSeen' -benchtime 3000000x -cpu 1 ./functions/dedupe/
	go test -run '^$$' -bench 'WindowMemory' -benchtime 1x -cpu 1 ./functions/dedupe/
	go test -run '^$$' -bench 'Apply' -benchtime 3000000x -cpu 1 ./functions/hotness/
	go test -run '^$$' -bench 'Top100' -benchtime 2000x -cpu 1 ./functions/hotness/
	go test -run '^$$' -bench 'Memory' -benchtime 1x -cpu 1 ./functions/hotness/
	go test -run '^$$' -bench Ingest -benchtime 3s ./functions/ingest/
	go test -run '^$$' -bench DecodeBatch -benchtime 1000x -cpu 1 ./functions/ingest/
	go test -run '^$$' -bench BatchVersusRawProducer -benchtime 1x ./functions/ingest/
	go test -run '^$$' -bench 'Clean$$' -benchtime 500000x ./functions/clean/
	go test -run '^$$' -bench Processor -benchtime 1000000x ./functions/popularity/
	go test -run '^$$' -bench PageAtMillionItems -benchtime 2000x -cpu 1 -count 2 ./functions/popularity/
	go test -run '^$$' -bench BatchVersusRawProducer -benchtime 1x ./functions/ingest/

# Every decoder's fuzz target, each explored for FUZZTIME; `go test` alone replays their corpora.
FUZZTIME ?= 20s
FUZZ_TARGETS := \
	./functions/ingest:FuzzDecodeCloudEvents ./functions/ingest:FuzzDecodeStructured \
	./functions/ingest:FuzzDecodeBatch ./functions/ingest:FuzzDecodeLikes \
	./functions/ingest:FuzzDecodeLegacyLikes ./functions/clean:FuzzRecord \
	./functions/dedupe:FuzzKeyIsUnambiguous \
	./functions/event:FuzzFastEventMatchesSlow ./functions/event:FuzzFastInteractionMatchesSlow \
	./functions/event:FuzzValidBinaryBatchMatches

.PHONY: fuzz
fuzz: ## Fuzz every decoder for FUZZTIME each (default 20s): no panic, a 4xx naming the field or an event clean accepts.
	hack/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

.PHONY: generate
generate: ## Regenerate deepcopy code, the CRD and RBAC from controller-gen markers.
	go tool controller-gen object paths=./operator/api/...
	go tool controller-gen crd rbac:roleName=recoflow-operator paths=./operator/... \
		output:crd:artifacts:config=operator/config/crd output:rbac:artifacts:config=operator/config/rbac

.PHONY: manifests
manifests: generate tools ## Copy generated files into the chart and render manifests/install.yaml.
	hack/render-manifests.sh

.PHONY: dryrun
dryrun: envtest tools ## Server-side dry run of the chart, manifests and render output against upstream Strimzi/KEDA/Prometheus Operator CRDs.
	go run ./hack/dryrun -upstream-crds ../shared/reference/crds

.PHONY: tools
tools: ## Build helm and tilt into bin/ (cached).
	hack/install-tools.sh

.PHONY: lint
lint: tools ## go vet, gofmt and helm lint --strict.
	go vet ./...
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	helm lint --strict charts/recoflow

.PHONY: images
images: ## Build the container images with the chart's tag (needs Docker).
	hack/build-images.sh $(IMAGE_REGISTRY) $(IMAGE_TAG)
