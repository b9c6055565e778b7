# The action's image: a static musl binary alone on `scratch`, with a CA bundle for TLS.
# Base images are pinned by release (Dependabot keeps them current); the build stage's Alpine
# release pins its packages too, so apk versions are not repeated here.
FROM rust:1.95-alpine3.22 AS build
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev ca-certificates
WORKDIR /src
COPY . .
# The release profile (Cargo.toml) is tuned for size: opt-level "z", LTO, one codegen unit,
# stripped, panic = "abort": a few MiB that start in milliseconds.
RUN cargo build --release --locked --bin package-janitor \
 && cp target/release/package-janitor /package-janitor

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /package-janitor /package-janitor
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# No USER: the runner's file commands (/github/file_commands) must stay writable.
ENTRYPOINT ["/package-janitor"]
