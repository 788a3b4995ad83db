# syntax=docker/dockerfile:1
# Build: docker build -t choso .
# Run:   docker compose up -d   (see docker-compose.yml)

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# A static binary: no libc in the final image, nothing to patch but choso.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/choso ./cmd/choso \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/choso /choso
# The data directory belongs to the non-root user, so a fresh named volume
# mounted there is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV CHOSO_ADDR=0.0.0.0:8080 \
    CHOSO_DATA=/data
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/choso", "healthcheck"]
ENTRYPOINT ["/choso"]
CMD ["serve"]
