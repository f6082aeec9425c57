#!/usr/bin/env bash
# npm run docs: the API reference in docs/api, generated from the JSDoc of every public export.
# docgen type-checks @example blocks against '../../src' relative to its output; docs/src points there
# for the duration of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
ln -sfn ../src docs/src
trap 'rm -f docs/src; rm -rf docs/api/examples' EXIT
npx docgen
