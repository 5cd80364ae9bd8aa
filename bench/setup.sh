#!/usr/bin/env bash
# Installs what `npm run bench` drives, from Debian's packages: skopeo, CNCF distribution
# (docker-registry 2.8.2, the registry:2 baseline), docker (a private dockerd), unshare
# (util-linux) and a Java runtime for DynamoDB Local. fauxqs comes with `npm ci`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
if [ ${#need[@]} -eq 0 ]; then
  echo "bench setup: everything is installed"
  exit 0
fi
echo "bench setup: installing ${need[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" ca-certificates >/dev/null
