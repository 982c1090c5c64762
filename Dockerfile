# rsmbd: multi-stage build. The runtime image holds only the binary; configuration, keytab and
# share directories are mounted at run time:
#
#   docker build -t rsmbd .
#   docker run --rm -p 445:445 \
#     -v /etc/rsmbd/rsmbd.toml:/etc/rsmbd/rsmbd.toml:ro \
#     -v /etc/rsmbd/rsmbd.keytab:/etc/rsmbd/rsmbd.keytab:ro \
#     -v /srv/data:/srv/data \
#     rsmbd
#
# The config's `keytab` and share `path` values must name the mounted paths.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY protocol protocol
COPY auth auth
COPY share share
COPY server server
COPY tests tests
RUN cargo build --release --locked -p rsmbd

FROM debian:bookworm-slim
RUN useradd --system --no-create-home --shell /usr/sbin/nologin rsmbd \
    && mkdir -p /etc/rsmbd /srv/data
COPY --from=build /src/target/release/rsmbd /usr/local/bin/rsmbd
EXPOSE 445/tcp
# Port 445 needs CAP_NET_BIND_SERVICE; run as root in the container or grant the capability.
ENTRYPOINT ["/usr/local/bin/rsmbd"]
CMD ["serve", "--config", "/etc/rsmbd/rsmbd.toml"]
