# Build a static musl binary, then ship it alone on `scratch` with a CA bundle.
FROM rust:1.95-alpine3.22 AS build
RUN apk add --no-cache musl-dev ca-certificates
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin package-janitor \
 && cp target/release/package-janitor /package-janitor

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /package-janitor /package-janitor
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# No USER: the runner's file commands must stay writable.
ENTRYPOINT ["/package-janitor"]
