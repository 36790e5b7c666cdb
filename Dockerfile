# The Parley image: one static binary on an empty base, run as a non-root
# user. Build it in two steps, so that no base image has to be pulled (the
# final stage is FROM scratch, which needs no registry):
#
#   CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o dist/parley ./cmd/parley
#   cp /etc/ssl/certs/ca-certificates.crt dist/
#   podman build -t parley .        # or: docker build -t parley .
#
# `make image` runs the three. The time-zone database is built into the
# binary (time/tzdata), so business hours need nothing from the image.
FROM scratch

# Twilio's API is HTTPS: the CA certificates of the build host.
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY dist/parley /parley

# Listen on every interface of the container; Redis, Twilio and the rest
# come from the environment (see README.md, Configuration).
ENV PARLEY_LISTEN=0.0.0.0:8080 \
    PARLEY_LOG_FORMAT=json
EXPOSE 8080

# A numeric user, since scratch has no /etc/passwd: not root.
USER 65532:65532

ENTRYPOINT ["/parley", "serve"]
