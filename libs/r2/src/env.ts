// Chooses the store from the environment.
//
// README block (configuration → object store):
//
// | Variable               | Meaning                                                                                   |
// |------------------------|-------------------------------------------------------------------------------------------|
// | `R2_ACCOUNT_ID`        | Cloudflare account id; the endpoint becomes `https://<id>.r2.cloudflarestorage.com`.        |
// | `R2_ENDPOINT`          | Explicit S3 endpoint instead (any S3-compatible service, or a loopback test peer).        |
// | `R2_ACCESS_KEY_ID`     | R2 API token's access key id (Object Read & Write on the bucket).                         |
// | `R2_SECRET_ACCESS_KEY` | …and its secret. Never logged; errors name only the endpoint and bucket.                   |
// | `R2_BUCKET`            | Bucket name; overrides the recipe's `bucket`.                                             |
// | `R2_PREFIX`            | Optional key prefix inside the bucket; overrides the recipe's prefix (same rule: segments  |
// |                        | of `A-Za-z0-9_.-` joined by `/`, none empty, `.` or `..`, no leading `/`; "" = bucket root). |
// | `R2_REGION`            | Optional, default `auto` (what R2 expects).                                               |
// | `R2_CONNECT_TIMEOUT_MS`| Optional, default 10000: a connection not made in time fails the attempt.                 |
// | `R2_REQUEST_TIMEOUT_MS`| Optional, default 120000: no response headers (or a body stalled) this long fails it.     |
//
// Each request is tried up to 5 times (backoff with jitter), so a hung endpoint fails a command in bounded time with
// an error naming the endpoint and the object key.
//
// With none of `R2_ACCOUNT_ID`, `R2_ENDPOINT`, `R2_ACCESS_KEY_ID`, `R2_SECRET_ACCESS_KEY` set, publishing goes to a local
// directory laid out exactly like the bucket (metadata in a sibling `<dir>.meta`), which can be served over HTTP to
// systemd-sysupdate. Setting only some of them is an error that names the missing ones, so a typo never silently
// publishes to the local directory.
import { deadlinesFromEnv } from './deadlines.js';
import { createDirectoryStore } from './directory-store.js';
import { createS3Store } from './s3-store.js';
import { normalizePrefix, type Log, type ObjectStore } from './store.js';

export interface StoreDefaults {
  bucket: string;
  prefix: string;
  directory: string;
}

/** Whether any R2 variable is set (then all the required ones must be: storeFromEnv names the missing ones). */
export function r2Configured(env: Record<string, string | undefined>): boolean {
  return ['R2_ACCOUNT_ID', 'R2_ENDPOINT', 'R2_ACCESS_KEY_ID', 'R2_SECRET_ACCESS_KEY'].some((name) => Boolean(env[name]?.trim()));
}

export function storeFromEnv(
  env: Record<string, string | undefined>,
  defaults: StoreDefaults,
  opts: { log?: Log; maxAttempts?: number } = {},
): ObjectStore {
  const v = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const accountId = v('R2_ACCOUNT_ID');
  const endpoint = v('R2_ENDPOINT');
  const accessKeyId = v('R2_ACCESS_KEY_ID');
  const secretAccessKey = v('R2_SECRET_ACCESS_KEY');
  // Checked here so the error names where the value came from; "" (set but empty) means the bucket's root.
  const prefix =
    env.R2_PREFIX !== undefined
      ? normalizePrefix(env.R2_PREFIX, 'R2_PREFIX')
      : normalizePrefix(defaults.prefix, "the recipe's bucket.prefix");
  if (!r2Configured(env)) {
    opts.log?.(`no R2 credentials configured: using the local directory store at ${defaults.directory}`);
    return createDirectoryStore(defaults.directory, { prefix });
  }
  const missing: string[] = [];
  if (!accountId && !endpoint) missing.push('R2_ACCOUNT_ID or R2_ENDPOINT');
  if (!accessKeyId) missing.push('R2_ACCESS_KEY_ID');
  if (!secretAccessKey) missing.push('R2_SECRET_ACCESS_KEY');
  if (missing.length) {
    throw new Error(`R2 is partly configured: set ${missing.join(', ')} (or unset all R2_* variables to publish to ${defaults.directory})`);
  }
  const deadlines = deadlinesFromEnv(env);
  return createS3Store({
    ...deadlines,
    bucket: v('R2_BUCKET') ?? defaults.bucket,
    prefix,
    endpoint,
    accountId: endpoint ? undefined : accountId,
    accessKeyId: accessKeyId!,
    secretAccessKey: secretAccessKey!,
    region: v('R2_REGION') ?? 'auto',
    log: opts.log,
    maxAttempts: opts.maxAttempts,
  });
}
