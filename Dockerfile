# syntax=docker/dockerfile:1
# guidedfix as a container (README, Operations: Docker):
#   docker build -t guidedfix --build-arg VERSION=$(git describe --always) --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run -d --name guidedfix -v guidedfix-data:/data -e TELEGRAM_BOT_TOKEN=… -p 127.0.0.1:9464:9464 guidedfix
# The binary is static (CGO_ENABLED=0); the image runs it as the
# distroless "nonroot" user (uid 65532) with the data directory on the
# /data volume.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/guidedfix ./cmd/guidedfix \
 && mkdir -p /out/data /out/backup

# distroless/static: CA certificates and time zones, no shell, no libc.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/guidedfix /usr/local/bin/guidedfix
COPY --from=build --chown=65532:65532 --chmod=0700 /out/data /data
COPY --from=build --chown=65532:65532 --chmod=0700 /out/backup /backup
USER 65532:65532
# The ops listener must listen beyond the container's loopback to be
# published; pprof, expvar and the admin backup still answer loopback
# clients only (docker exec guidedfix guidedfix backup /backup/NAME; a
# backup must be outside the data directory /data).
ENV GUIDEDFIX_DATA_DIR=/data \
    GUIDEDFIX_OPS__LISTEN=0.0.0.0:9464 \
    GUIDEDFIX_OPS__PUBLIC=true
VOLUME ["/data", "/backup"]
# 8443: Telegram webhook (telegram.listen); 3000: Slack HTTP mode; 9464: ops.
EXPOSE 8443 3000 9464
ENTRYPOINT ["/usr/local/bin/guidedfix"]
CMD ["serve"]
