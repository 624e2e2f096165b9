# Portico on Cloud Run: a static binary on a distroless, non-root base.
#   docker build --build-arg VERSION=$(git describe --always) -t portico .
#   docker run -p 8080:8080 portico

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CGO_ENABLED=0: the SQLite driver is pure Go, so the binary is static and
# runs on an image with no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/portico ./cmd/portico

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portico /portico
# Cloud Run's file system is in memory and per instance: the embedded store
# suits one instance; scale out with an external database.
ENV PORTICO_DATA_DIR=/tmp/portico-data
USER nonroot:nonroot
EXPOSE 8080
# Exec form: portico is PID 1 and receives SIGTERM itself.
ENTRYPOINT ["/portico"]
