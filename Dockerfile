# Used by docker-compose.yml. Build: docker build -t patron .
FROM rust:1.95.0-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin patron

FROM debian:bookworm-slim
# curl: for the container's health check on /readyz.
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --uid 10001 --home-dir /var/lib/patron --create-home patron
COPY --from=build /src/target/release/patron /usr/local/bin/patron
# The default SQLite file (./patron.db) lives in the patron user's home.
WORKDIR /var/lib/patron
USER patron
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:8080/readyz" || exit 1
ENTRYPOINT ["patron"]
