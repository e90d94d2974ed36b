// The GitHub flow for one consumer: read the Butane file on the base branch, commit the located edit to
// feature/update-alloy-sysext-to-<version> through the git data API, open or update the pull request, and close
// this bot's older pull requests for the same consumer. Reruns with the same inputs make no write requests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { createTwoFilesPatch } from 'diff';
import { ButaneUpdater, type Arch, type Pinned } from './butane.js';
import {
  createGitHubClient,
  explainGitHubError,
  parseRepo,
  authKind,
  clientLogin,
  GitHubError,
  type GitHubAuth,
  type GitHubClient,
  type RetryOptions,
  type ThrottleOptions,
} from './github.js';
import { readRepoFile } from './read-file.js';
import { blockedComment, branchName, commitMessage, parseMarker, prBody, prTitle } from './pr-body.js';

export interface Consumer {
  name: string;
  /** owner/name */
  repo: string;
  /** path of the Butane file (or .bu.tftpl template) in the repo */
  path: string;
  /** base branch */
  base: string;
  arch: Arch;
  auth: GitHubAuth;
  assignees?: string[];
  /** logins, or org/team-slug for team reviewers */
  reviewers?: string[];
  labels?: string[];
}

export type ConsumerStatus = 'up-to-date' | 'opened' | 'updated' | 'unchanged' | 'blocked-by-human-commit' | 'dry-run';

export interface UpdateConsumerOptions {
  consumer: Consumer;
  version: string;
  sha256: string;
  /** what the pipeline believes the consumer pinned before; only compared with the file and logged */
  previous?: { version: string; sha256?: string };
  release: { url: string; notes?: string };
  /** URL of this version's image for the consumer's arch (ends in .raw), or the base URL the image file lives under */
  imageUrl: string;
  /** API base URL, default https://api.github.com */
  githubUrl?: string;
  dryRun?: boolean;
  /** where a dry run writes <consumer>.diff and <consumer>.pr.md */
  outDir: string;
  log?: (line: string) => void;
  octokitOptions?: { retry?: RetryOptions; throttle?: ThrottleOptions };
  /** sysext name, default alloy */
  name?: 'alloy';
}

export interface UpdateConsumerResult {
  status: ConsumerStatus;
  consumer: string;
  pr?: { number: number; url: string };
  superseded?: number[];
  /** older bot pull requests not superseded because someone else pushed commits to their branch */
  keptOpen?: number[];
  /** what the base branch pinned */
  pinned?: Pinned;
  branch?: string;
  diffFile?: string;
  bodyFile?: string;
}

interface PullLike {
  number: number;
  html_url: string;
  title: string;
  body?: string | null;
  state: string;
  merged_at?: string | null;
  user?: { login: string } | null;
  head: { ref: string; sha: string; repo?: { full_name: string } | null };
  labels?: Array<{ name?: string } | string>;
  assignees?: Array<{ login: string }> | null;
  requested_reviewers?: Array<{ login: string }> | null;
  requested_teams?: Array<{ slug: string }> | null;
}

interface BranchCommit {
  sha: string;
  author?: { login?: string } | null;
  committer?: { login?: string } | null;
  commit: { message: string; author?: { name?: string } | null };
}

const commitAuthors = (commits: BranchCommit[]) => [...new Set(commits.map((c) => c.author?.login ?? c.commit.author?.name ?? 'unknown'))];

function imageUrlFor(imageUrl: string, file: string): string {
  if (/\.raw$/.test(new URL(imageUrl).pathname)) {
    const base = imageUrl.slice(0, imageUrl.lastIndexOf('/') + 1);
    return base + file;
  }
  return imageUrl.replace(/\/+$/, '') + '/' + file;
}

/** GitHub may hand bodies back with CRLF or without the trailing newline; compare what a reader sees. */
const normalizeBody = (b: string | null | undefined) => (b ?? '').replace(/\r\n/g, '\n').trimEnd();

const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');

export async function updateConsumer(opts: UpdateConsumerOptions): Promise<UpdateConsumerResult> {
  const log = opts.log ?? (() => {});
  const { consumer } = opts;
  const name = opts.name ?? 'alloy';
  if (!/^[A-Za-z0-9._-]+$/.test(consumer.name))
    throw new GitHubError(`consumer name ${JSON.stringify(consumer.name)} may only contain letters, digits, ".", "_" and "-"`);
  const { owner, repo } = parseRepo(consumer.repo);
  const full = `${owner}/${repo}`;
  try {
    new URL(opts.imageUrl);
  } catch {
    throw new GitHubError(`imageUrl ${JSON.stringify(opts.imageUrl)} is not a URL`);
  }
  const updater = new ButaneUpdater({
    name,
    version: opts.version,
    sha256: opts.sha256,
    arch: consumer.arch,
    imageUrl: (f) => imageUrlFor(opts.imageUrl, f),
  });
  const hasCreds = Boolean(consumer.auth.app || consumer.auth.token);
  const dry = Boolean(opts.dryRun) || !hasCreds;
  const tag = `[${consumer.name}]`;
  if (!hasCreds && !opts.dryRun) log(`${tag} no GitHub credentials for ${full}: dry run (reading anonymously)`);

  const client: GitHubClient = await createGitHubClient({
    auth: hasCreds ? consumer.auth : {},
    repo: full,
    baseUrl: opts.githubUrl,
    retry: opts.octokitOptions?.retry,
    throttle: opts.octokitOptions?.throttle,
    log,
  });
  const ctx = { kind: authKind(client), appId: consumer.auth.app ? String(consumer.auth.app.id) : undefined, repo: full };

  async function read<T>(what: string, fn: () => Promise<T>, notFound?: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw explainGitHubError(e, `${tag} ${what}`, { ...ctx, notFound });
    }
  }
  async function readOptional<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if ((e as { status?: number }).status === 404) return undefined;
      throw explainGitHubError(e, `${tag} ${what}`, ctx);
    }
  }
  let fakeSeq = 0;
  /** Every write goes through here: logged, and in a dry run only logged. */
  async function write<T>(what: string, route: string, params: Record<string, unknown>, fake: T): Promise<T> {
    if (dry) {
      log(`${tag} [dry-run] would ${route}: ${what}`);
      fakeSeq++;
      return fake;
    }
    log(`${tag} ${route}: ${what}`);
    try {
      return (await client.request(route, params)).data as T;
    } catch (e) {
      throw explainGitHubError(e, `${tag} ${what}`, ctx);
    }
  }

  /** The commits on `branch` (at `head`) that are not on the base and not this bot's: someone else pushed there. */
  async function foreignCommits(branch: string, head: string): Promise<BranchCommit[]> {
    const cmp = await read(
      `comparing ${branch} with ${consumer.base} in ${full}`,
      async () =>
        (await client.request('GET /repos/{owner}/{repo}/compare/{basehead}', { owner, repo, basehead: `${baseSha}...${head}` })).data,
    );
    me ??= await clientLogin(client);
    return (cmp.commits ?? []).filter((c) => {
      const login = c.author?.login ?? c.committer?.login;
      if (me) return login !== me;
      return !c.commit.message.includes(`Alloy-Sysext-Consumer: ${consumer.name}`);
    });
  }

  /** Close this bot's older pull requests for this consumer and delete their branches; one with someone else's
   *  commits stays open, branch and all (closing it would throw away their work). */
  async function closeSuperseded(older: PullLike[], by: string): Promise<{ closed: number[]; keptOpen: number[] }> {
    const closed: number[] = [];
    const keptOpen: number[] = [];
    for (const old of older) {
      const foreign = await foreignCommits(old.head.ref, old.head.sha);
      if (foreign.length > 0) {
        log(`${tag} not superseding #${old.number}: ${old.head.ref} has commits by ${commitAuthors(foreign).join(', ')}; leaving it open`);
        keptOpen.push(old.number);
        continue;
      }
      await write(
        `comment "Superseded by ${by}" on #${old.number}`,
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
        {
          owner,
          repo,
          issue_number: old.number,
          body: `Superseded by ${by}.`,
        },
        {},
      );
      await write(
        `close #${old.number}`,
        'PATCH /repos/{owner}/{repo}/pulls/{pull_number}',
        { owner, repo, pull_number: old.number, state: 'closed' },
        {},
      );
      await deleteBranch(old.head.ref);
      closed.push(old.number);
    }
    return { closed, keptOpen };
  }

  /** Delete a branch of ours; one already gone (422) is the outcome we wanted. */
  async function deleteBranch(branch: string): Promise<void> {
    try {
      await write(`delete branch ${branch}`, `DELETE /repos/{owner}/{repo}/git/refs/heads/${enc(branch)}`, { owner, repo }, {});
    } catch (e) {
      if (e instanceof GitHubError && e.status === 422) {
        log(`${tag} branch ${branch} was already deleted`);
        return;
      }
      throw e;
    }
  }

  let me: string | undefined;
  let baseSha = '';

  // 1. The base branch and the file on it.
  baseSha = await read(
    `reading base branch ${consumer.base} of ${full}`,
    async () => (await client.request(`GET /repos/{owner}/{repo}/git/ref/heads/${enc(consumer.base)}`, { owner, repo })).data.object.sha,
    `base branch "${consumer.base}" does not exist in ${full}`,
  );
  const baseTree = await read(
    `reading commit ${baseSha} of ${full}`,
    async () =>
      (await client.request('GET /repos/{owner}/{repo}/git/commits/{commit_sha}', { owner, repo, commit_sha: baseSha })).data.tree.sha,
  );
  const readFileAt = async (ref: string, what: string, notFound?: string): Promise<string> =>
    read(what, () => readRepoFile(client, { owner, repo, path: consumer.path, ref }), notFound);
  const baseText = await readFileAt(
    baseSha,
    `reading ${consumer.path} on ${consumer.base} of ${full}`,
    `${consumer.path} does not exist on branch "${consumer.base}" of ${full} (check the consumer's path and base)`,
  );
  const label = `${full}:${consumer.path}@${consumer.base}`;
  const pinned = updater.readPinned(baseText, label);
  if (opts.previous && (opts.previous.version !== pinned.version || (opts.previous.sha256 && opts.previous.sha256 !== pinned.sha256)))
    log(`${tag} note: expected the base to pin ${opts.previous.version}, it pins ${pinned.version} (sha256 ${pinned.sha256})`);
  if (pinned.version === opts.version && pinned.sha256 === opts.sha256) {
    log(`${tag} ${consumer.path} on ${consumer.base} already pins ${name} ${opts.version} (sha256 ${opts.sha256}); nothing to do`);
    return { status: 'up-to-date', consumer: consumer.name, pinned };
  }
  if (semver.valid(pinned.version) && semver.gt(pinned.version, opts.version)) {
    log(`${tag} ${consumer.path} on ${consumer.base} pins ${name} ${pinned.version}, newer than ${opts.version}; not downgrading`);
    return { status: 'up-to-date', consumer: consumer.name, pinned };
  }
  const newText = updater.updateContent(baseText, label);
  const newFile = updater.targetFile(pinned);
  const imageUrl = imageUrlFor(opts.imageUrl, newFile);
  const branch = branchName(name, opts.version);
  const title = prTitle(name, opts.version);
  const body = prBody({
    name,
    consumer: consumer.name,
    path: consumer.path,
    old: { version: pinned.version, sha256: pinned.sha256, file: pinned.file },
    version: opts.version,
    sha256: opts.sha256,
    file: newFile,
    imageUrl,
    release: opts.release,
  });

  // 2. This bot's open pull requests for this consumer.
  const branchPrefix = branchName(name, '');
  const openPulls = (await read(`listing open pull requests of ${full}`, () =>
    client.paginate('GET /repos/{owner}/{repo}/pulls', { owner, repo, state: 'open', base: consumer.base, per_page: 100 }),
  )) as PullLike[];
  const isOurs = (pr: PullLike) => {
    const marker = parseMarker(pr.body);
    return (
      pr.head.ref.startsWith(branchPrefix) &&
      (pr.head.repo?.full_name ?? full).toLowerCase() === full.toLowerCase() &&
      marker !== undefined &&
      (marker.consumer === undefined || marker.consumer === consumer.name) &&
      (me === undefined || pr.user?.login === me)
    );
  };
  if (openPulls.some((p) => p.head.ref.startsWith(branchPrefix))) me = await clientLogin(client);
  const ours = openPulls.filter(isOurs);
  let pr = ours.find((p) => p.head.ref === branch);
  const foreignPr = openPulls.find((p) => p.head.ref === branch && !ours.includes(p));
  if (!pr && foreignPr) {
    const other = parseMarker(foreignPr.body)?.consumer;
    throw new GitHubError(
      `${tag} branch ${branch} of ${full} already has pull request #${foreignPr.number} ` +
        (other ? `for consumer "${other}"` : `by ${foreignPr.user?.login ?? 'someone else'}`) +
        `; one branch per version per repository: two consumers in the same repository are not supported, and a human's pull request on this branch is left alone`,
    );
  }
  const newer = ours.find((p) => {
    const v = parseMarker(p.body)!.version;
    return semver.valid(v) && semver.gt(v, opts.version);
  });
  if (newer) {
    log(
      `${tag} #${newer.number} already proposes ${name} ${parseMarker(newer.body)!.version}, newer than ${opts.version}; not proposing an older version`,
    );
    return { status: 'unchanged', consumer: consumer.name, pinned, branch, pr: { number: newer.number, url: newer.html_url } };
  }

  // 3. The branch: reuse, move, or leave alone.
  const branchSha = await readOptional(
    `reading branch ${branch} of ${full}`,
    async () => (await client.request(`GET /repos/{owner}/{repo}/git/ref/heads/${enc(branch)}`, { owner, repo })).data.object.sha,
  );
  let status: ConsumerStatus = pr ? 'updated' : 'opened';
  let needCommit = true;
  if (branchSha) {
    const marker = parseMarker(pr?.body);
    if (pr && marker?.version === opts.version && marker.sha256 === opts.sha256) {
      const branchText = await readFileAt(branchSha, `reading ${consumer.path} on ${branch} of ${full}`);
      if (branchText === newText) needCommit = false;
    }
    if (needCommit) {
      const foreign = await foreignCommits(branch, branchSha);
      if (foreign.length > 0) {
        const authors = commitAuthors(foreign);
        log(
          `${tag} ${branch} has commits by ${authors.join(', ')} (${foreign.map((c) => c.sha.slice(0, 7)).join(', ')}); leaving it alone`,
        );
        if (pr) {
          const prNumber = pr.number;
          const comments = await read(`reading comments of #${prNumber}`, () =>
            client.paginate('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
              owner,
              repo,
              issue_number: prNumber,
              per_page: 100,
            }),
          );
          const already = comments.some((c) =>
            (c.body ?? '').includes(`<!-- alloy-sysext-blocked: version=${opts.version} sha256=${opts.sha256} head=${branchSha} -->`),
          );
          if (!already)
            await write(
              `comment on #${prNumber} that the branch has someone else's commits`,
              'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
              {
                owner,
                repo,
                issue_number: prNumber,
                body: blockedComment({ version: opts.version, sha256: opts.sha256, head: branchSha, authors, branch }),
              },
              {},
            );
        }
        return {
          status: dry ? 'dry-run' : 'blocked-by-human-commit',
          consumer: consumer.name,
          pinned,
          branch,
          ...(pr ? { pr: { number: pr.number, url: pr.html_url } } : {}),
        };
      }
    }
  }
  if (!pr) {
    // Respect a pull request a human closed for exactly this version and hash.
    const closed = (await read(`listing closed pull requests for ${branch} in ${full}`, () =>
      client.paginate('GET /repos/{owner}/{repo}/pulls', { owner, repo, state: 'closed', head: `${owner}:${branch}`, per_page: 100 }),
    )) as PullLike[];
    const declined = closed.find((p) => {
      const m = parseMarker(p.body);
      return m?.version === opts.version && m.sha256 === opts.sha256 && (m.consumer === undefined || m.consumer === consumer.name);
    });
    if (declined) {
      log(
        `${tag} #${declined.number} for ${opts.version} (sha256 ${opts.sha256}) was ${declined.merged_at ? 'merged' : 'closed'}; not reopening`,
      );
      return { status: 'unchanged', consumer: consumer.name, pinned, branch, pr: { number: declined.number, url: declined.html_url } };
    }
  }

  // 4. Commit through the git data API: blob → tree → commit (no author: GitHub signs an App's commit) → ref.
  if (needCommit) {
    const blob = await write(
      `blob for ${consumer.path} (${Buffer.byteLength(newText)} bytes)`,
      'POST /repos/{owner}/{repo}/git/blobs',
      { owner, repo, content: Buffer.from(newText, 'utf8').toString('base64'), encoding: 'base64' },
      { sha: '<blob>' },
    );
    const tree = await write(
      `tree on ${consumer.base}'s tree ${baseTree} with ${consumer.path}`,
      'POST /repos/{owner}/{repo}/git/trees',
      { owner, repo, base_tree: baseTree, tree: [{ path: consumer.path, mode: '100644', type: 'blob', sha: blob.sha }] },
      { sha: '<tree>' },
    );
    const commit = await write(
      `commit "${title}" on ${consumer.base} ${baseSha.slice(0, 7)}`,
      'POST /repos/{owner}/{repo}/git/commits',
      {
        owner,
        repo,
        message: commitMessage({
          name,
          consumer: consumer.name,
          version: opts.version,
          sha256: opts.sha256,
          imageUrl,
          path: consumer.path,
        }),
        tree: tree.sha,
        parents: [baseSha],
      },
      { sha: '<commit>' },
    );
    if (branchSha)
      await write(
        `move ${branch} from ${branchSha.slice(0, 7)} to the new commit`,
        `PATCH /repos/{owner}/{repo}/git/refs/heads/${enc(branch)}`,
        { owner, repo, sha: commit.sha, force: true },
        {},
      );
    else
      await write(
        `create branch ${branch}`,
        'POST /repos/{owner}/{repo}/git/refs',
        { owner, repo, ref: `refs/heads/${branch}`, sha: commit.sha },
        {},
      );
  }

  // 5. Open or update the pull request.
  let changedPr = needCommit;
  if (pr) {
    if (pr.title !== title || normalizeBody(pr.body) !== normalizeBody(body)) {
      await write(
        `update title and body of #${pr.number}`,
        'PATCH /repos/{owner}/{repo}/pulls/{pull_number}',
        { owner, repo, pull_number: pr.number, title, body },
        {},
      );
      changedPr = true;
    }
    if (!changedPr) status = 'unchanged';
  } else {
    const created = await write(
      `open pull request "${title}" ${branch} → ${consumer.base}`,
      'POST /repos/{owner}/{repo}/pulls',
      { owner, repo, title, head: branch, base: consumer.base, body },
      { number: 0, html_url: `(dry-run) ${full}`, title, body, state: 'open', head: { ref: branch, sha: '' } } as PullLike,
    );
    pr = { ...created, labels: [], assignees: [], requested_reviewers: [], requested_teams: [] };
    status = 'opened';
  }
  const prNumber = pr.number;
  const prRef = prNumber ? `#${prNumber}` : 'the new pull request';
  if (changedPr || status === 'opened') {
    const haveLabels = new Set((pr.labels ?? []).map((l) => (typeof l === 'string' ? l : l.name)));
    const labels = (consumer.labels ?? []).filter((l) => !haveLabels.has(l));
    if (labels.length)
      await write(
        `label ${prRef} ${labels.join(', ')}`,
        'POST /repos/{owner}/{repo}/issues/{issue_number}/labels',
        { owner, repo, issue_number: prNumber, labels },
        {},
      );
    const haveAssignees = new Set((pr.assignees ?? []).map((a) => a.login.toLowerCase()));
    const assignees = (consumer.assignees ?? []).filter((a) => !haveAssignees.has(a.toLowerCase()));
    if (assignees.length)
      await write(
        `assign ${prRef} to ${assignees.join(', ')}`,
        'POST /repos/{owner}/{repo}/issues/{issue_number}/assignees',
        { owner, repo, issue_number: prNumber, assignees },
        {},
      );
    const haveReviewers = new Set([
      ...(pr.requested_reviewers ?? []).map((r) => r.login.toLowerCase()),
      ...(pr.requested_teams ?? []).map((t) => t.slug.toLowerCase()),
    ]);
    const wanted = (consumer.reviewers ?? []).filter(
      (r) => !haveReviewers.has((r.includes('/') ? r.slice(r.indexOf('/') + 1) : r).toLowerCase()),
    );
    const reviewers = wanted.filter((r) => !r.includes('/'));
    const teams = wanted.filter((r) => r.includes('/')).map((r) => r.slice(r.indexOf('/') + 1));
    if (reviewers.length || teams.length)
      await write(
        `request review of ${prRef} from ${wanted.join(', ')}`,
        'POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers',
        {
          owner,
          repo,
          pull_number: prNumber,
          ...(reviewers.length ? { reviewers } : {}),
          ...(teams.length ? { team_reviewers: teams } : {}),
        },
        {},
      );
  }

  // 6. Close this bot's older pull requests for this consumer, unless someone else pushed to them.
  const older = ours.filter((old) => old.number !== prNumber && old.head.ref !== branch);
  const { closed: superseded, keptOpen } = await closeSuperseded(older, prNumber ? `#${prNumber}` : 'the new pull request');

  const result: UpdateConsumerResult = {
    status,
    consumer: consumer.name,
    pinned,
    branch,
    pr: { number: prNumber, url: pr.html_url },
    ...(superseded.length ? { superseded } : {}),
    ...(keptOpen.length ? { keptOpen } : {}),
  };
  if (dry) {
    await mkdir(opts.outDir, { recursive: true });
    const diffFile = join(opts.outDir, `${consumer.name}.diff`);
    const bodyFile = join(opts.outDir, `${consumer.name}.pr.md`);
    await writeFile(diffFile, createTwoFilesPatch(`a/${consumer.path}`, `b/${consumer.path}`, baseText, newText, consumer.base, branch));
    await writeFile(bodyFile, `# ${title}\n\n${body}`);
    log(`${tag} [dry-run] wrote ${diffFile} and ${bodyFile} (${fakeSeq} write(s) skipped; would be: ${status})`);
    return {
      status: 'dry-run',
      consumer: consumer.name,
      pinned,
      branch,
      diffFile,
      bodyFile,
      ...(superseded.length ? { superseded } : {}),
      ...(keptOpen.length ? { keptOpen } : {}),
    };
  }
  log(
    `${tag} ${status} #${prNumber} ${pr.html_url}${superseded.length ? `; superseded ${superseded.map((n) => `#${n}`).join(', ')}` : ''}`,
  );
  return result;
}
