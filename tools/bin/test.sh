#!/usr/bin/env bash
# The whole test suite, as the README's quick start and CI run it: set up, lint, typecheck and test every project
# through Nx (cached), check formatting, then one summary line over all jest results.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
bash tools/setup/setup.sh || exit $?
rm -rf dist/test-results
npx nx run-many -t lint typecheck test --output-style=static "$@"
status=$?
npx nx format:check --all || { echo "format:check failed: run npx nx format:write --all"; status=1; }
node tools/bin/test-summary.mjs || status=1
exit $status
