# Nimbus on local disk, the way registry:2 runs:
#   npm ci && npm run build && docker build -t nimbus .
#   docker run -d -p 5000:5000 --restart=always -v nimbus-data:/var/lib/nimbus --name my-registry nimbus
# The image holds Node.js and one file, dist/nimbus-server.mjs (the bundle of npm run build):
# no node_modules, no tsx. BASE is any image with Node.js 22 or newer at /usr/local/bin/node
# (the tests build one offline from Debian packages).
ARG BASE=docker.io/library/node:22-bookworm-slim
FROM ${BASE}

# Every setting is an environment variable (npm start -- --help lists them); these differ from
# npm start's defaults because a container serves other machines and keeps data in a volume.
ENV HOST=0.0.0.0 \
    PORT=5000 \
    NIMBUS_DATA_DIR=/var/lib/nimbus \
    NIMBUS_DRAIN_SECONDS=8

# A volume takes the ownership of the image's directory when it is first created.
RUN mkdir -p /var/lib/nimbus /opt/nimbus && chown 10001:10001 /var/lib/nimbus && chmod 0700 /var/lib/nimbus
COPY dist/nimbus-server.mjs /opt/nimbus/nimbus-server.mjs

USER 10001:10001
VOLUME /var/lib/nimbus
EXPOSE 5000

# node is PID 1 and handles SIGTERM itself: it drains requests (NIMBUS_DRAIN_SECONDS, 8 s here
# so that it ends within docker stop's default 10 s) and exits. A longer drain needs docker stop -t.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/node", "/opt/nimbus/nimbus-server.mjs", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=64", "/opt/nimbus/nimbus-server.mjs"]
