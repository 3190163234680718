# syntax=docker/dockerfile:1
# One Dockerfile for the four recoflow images: CMD picks the Go package to build.
#
#   docker build --build-arg CMD=./operator/cmd                -t recoflow-operator .
#   docker build --build-arg CMD=./functions/ingest/cmd        -t recoflow-ingest .
#   docker build --build-arg CMD=./functions/clean/cmd         -t recoflow-clean .
#   docker build --build-arg CMD=./functions/popularity/cmd    -t recoflow-popularity .
#
# hack/build-images.sh (make images) builds all four with the chart's tag.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG CMD=./operator/cmd
WORKDIR /src
# Modules first, so that a source change does not download them again.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    go mod download
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w" -o /out/app "${CMD}"

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/app /app
USER 65532:65532
ENTRYPOINT ["/app"]
