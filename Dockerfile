# Used by docker-compose.yml. Build: docker build -t patron .
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin patron

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/patron /usr/local/bin/patron
WORKDIR /var/lib/patron
EXPOSE 8080
ENTRYPOINT ["patron"]
