#!/usr/bin/env bash
# CI: starts the shared Nx cache server (apps/nx-cache) in the background for the rest of the job and points Nx at it
# through $GITHUB_ENV (the server's URL only: the step that runs Nx passes its own access token).
# Inputs, from the calling step's env: NX_CACHE_ROLE (read-only | read-write), NX_CACHE_TOKEN, NX_CACHE_BUCKET (the
# cache's own bucket, never the release bucket), R2_ACCOUNT_ID or R2_ENDPOINT, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY.
# Optional: NX_CACHE_PORT (default 4555). Without the token or R2 credentials (pull requests from forks get no secrets)
# it says so and exits 0, and Nx runs without a remote cache.
set -euo pipefail
port=${NX_CACHE_PORT:-4555}
role=${NX_CACHE_ROLE:-}
case "$role" in
  read-only | read-write) ;;
  *) echo "start-nx-cache: NX_CACHE_ROLE=\"$role\" must be read-only or read-write" >&2; exit 1 ;;
esac
if [ -z "${NX_CACHE_TOKEN:-}" ] || [ -z "${R2_ACCESS_KEY_ID:-}" ] || [ -z "${R2_SECRET_ACCESS_KEY:-}" ]; then
  echo "start-nx-cache: no $role cache credentials in this run (e.g. a pull request from a fork): Nx runs without the shared cache"
  exit 0
fi
if [ -z "${NX_CACHE_BUCKET:-}" ]; then
  echo "start-nx-cache: NX_CACHE_BUCKET is empty: set the repository variable NX_CACHE_BUCKET to the cache's own bucket" >&2
  exit 1
fi
export NX_CACHE_TOKENS="$role:$NX_CACHE_TOKEN"
unset NX_CACHE_TOKEN R2_BUCKET R2_PREFIX
state=${RUNNER_TEMP:-/tmp}
node --import tsx apps/nx-cache/src/main.ts --port "$port" --bucket "$NX_CACHE_BUCKET" >"$state/nx-cache.log" 2>&1 &
echo $! >"$state/nx-cache.pid"
for _ in $(seq 1 60); do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    echo "NX_SELF_HOSTED_REMOTE_CACHE_SERVER=http://127.0.0.1:$port" >>"$GITHUB_ENV"
    echo "start-nx-cache: $role cache at http://127.0.0.1:$port (entries in bucket $NX_CACHE_BUCKET under nx-cache/)"
    exit 0
  fi
  kill -0 "$(cat "$state/nx-cache.pid")" 2>/dev/null || break
  sleep 0.5
done
echo "start-nx-cache: the cache server did not start; its log:" >&2
cat "$state/nx-cache.log" >&2
exit 1
