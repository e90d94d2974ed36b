// One consumer repository on GitHub, behind the verbs the pull-request flow uses (as release-please's GitHub class):
// every read explains its failure (what was attempted, what to check), and every write goes through one gate that logs
// it and, in a dry run, only logs it.
import {
  authKind,
  clientLogin,
  createGitHubClient,
  explainGitHubError,
  GitHubError,
  parseRepo,
  type GitHubClient,
  type RetryOptions,
  type ThrottleOptions,
} from './github.js';
import type { Consumer } from './consumer.js';
import { readRepoFile } from './read-file.js';

export interface PullLike {
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

export interface BranchCommit {
  sha: string;
  author?: { login?: string } | null;
  committer?: { login?: string } | null;
  commit: { message: string; author?: { name?: string } | null };
}

export interface ConnectOptions {
  consumer: Consumer;
  /** API base URL, default https://api.github.com */
  githubUrl?: string;
  dryRun?: boolean;
  log?: (line: string) => void;
  octokitOptions?: { retry?: RetryOptions; throttle?: ThrottleOptions };
}

const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');

export class ConsumerRepo {
  readonly owner: string;
  readonly repo: string;
  /** owner/name */
  readonly full: string;
  /** `[consumer]`, the prefix of every log line about this consumer */
  readonly tag: string;
  /** writes are only logged: asked for, or no credentials to write with */
  readonly dry: boolean;
  /** writes a dry run skipped */
  skipped = 0;
  private me: string | undefined;
  private meKnown = false;

  private constructor(
    readonly consumer: Consumer,
    private readonly client: GitHubClient,
    dry: boolean,
    readonly log: (line: string) => void,
  ) {
    ({ owner: this.owner, repo: this.repo } = parseRepo(consumer.repo));
    this.full = `${this.owner}/${this.repo}`;
    this.tag = `[${consumer.name}]`;
    this.dry = dry;
  }

  /** A client with the consumer's credentials; without any, an anonymous one that can only read (a dry run). */
  static async connect(opts: ConnectOptions): Promise<ConsumerRepo> {
    const { consumer } = opts;
    const log = opts.log ?? (() => {});
    if (!/^[A-Za-z0-9._-]+$/.test(consumer.name))
      throw new GitHubError(`consumer name ${JSON.stringify(consumer.name)} may only contain letters, digits, ".", "_" and "-"`);
    const { owner, repo } = parseRepo(consumer.repo);
    const hasCreds = Boolean(consumer.auth.app || consumer.auth.token);
    if (!hasCreds && !opts.dryRun) log(`[${consumer.name}] no GitHub credentials for ${owner}/${repo}: dry run (reading anonymously)`);
    const client = await createGitHubClient({
      auth: hasCreds ? consumer.auth : {},
      repo: `${owner}/${repo}`,
      baseUrl: opts.githubUrl,
      retry: opts.octokitOptions?.retry,
      throttle: opts.octokitOptions?.throttle,
      log,
    });
    return new ConsumerRepo(consumer, client, Boolean(opts.dryRun) || !hasCreds, log);
  }

  private explain(error: unknown, what: string, notFound?: string): Error {
    const app = this.consumer.auth.app;
    return explainGitHubError(error, `${this.tag} ${what}`, {
      kind: authKind(this.client),
      appId: app ? String(app.id) : undefined,
      repo: this.full,
      notFound,
    });
  }

  private async read<T>(what: string, fn: () => Promise<T>, notFound?: string): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.explain(error, what, notFound);
    }
  }

  private async readOptional<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw this.explain(error, what);
    }
  }

  /** Every write goes through here: logged, and in a dry run only logged (answering `fake`). */
  private async write<T>(what: string, route: string, params: Record<string, unknown>, fake: T): Promise<T> {
    if (this.dry) {
      this.log(`${this.tag} [dry-run] would ${route}: ${what}`);
      this.skipped++;
      return fake;
    }
    this.log(`${this.tag} ${route}: ${what}`);
    try {
      return (await this.client.request(route, { owner: this.owner, repo: this.repo, ...params })).data as T;
    } catch (error) {
      throw this.explain(error, what);
    }
  }

  /** The login this client's commits and pull requests show; undefined when it cannot be known (anonymous). */
  async login(): Promise<string | undefined> {
    if (!this.meKnown) [this.me, this.meKnown] = [await clientLogin(this.client), true];
    return this.me;
  }

  /** The head commit of the base branch and its tree. */
  async baseHead(): Promise<{ sha: string; tree: string }> {
    const { base } = this.consumer;
    const { owner, repo, full } = this;
    const sha = await this.read(
      `reading base branch ${base} of ${full}`,
      async () => (await this.client.request(`GET /repos/{owner}/{repo}/git/ref/heads/${enc(base)}`, { owner, repo })).data.object.sha,
      `base branch "${base}" does not exist in ${full}`,
    );
    const tree = await this.read(
      `reading commit ${sha} of ${full}`,
      async () =>
        (await this.client.request('GET /repos/{owner}/{repo}/git/commits/{commit_sha}', { owner, repo, commit_sha: sha })).data.tree.sha,
    );
    return { sha, tree };
  }

  /** The consumer's file at a commit or branch. */
  fileAt(ref: string, what: string, notFound?: string): Promise<string> {
    const { owner, repo } = this;
    return this.read(what, () => readRepoFile(this.client, { owner, repo, path: this.consumer.path, ref }), notFound);
  }

  async branchHead(branch: string): Promise<string | undefined> {
    const { owner, repo } = this;
    return this.readOptional(
      `reading branch ${branch} of ${this.full}`,
      async () => (await this.client.request(`GET /repos/{owner}/{repo}/git/ref/heads/${enc(branch)}`, { owner, repo })).data.object.sha,
    );
  }

  async openPulls(): Promise<PullLike[]> {
    const { owner, repo } = this;
    return (await this.read(`listing open pull requests of ${this.full}`, () =>
      this.client.paginate('GET /repos/{owner}/{repo}/pulls', { owner, repo, state: 'open', base: this.consumer.base, per_page: 100 }),
    )) as PullLike[];
  }

  async closedPulls(branch: string): Promise<PullLike[]> {
    const { owner, repo } = this;
    return (await this.read(`listing closed pull requests for ${branch} in ${this.full}`, () =>
      this.client.paginate('GET /repos/{owner}/{repo}/pulls', { owner, repo, state: 'closed', head: `${owner}:${branch}`, per_page: 100 }),
    )) as PullLike[];
  }

  /** The commits on `head` that are not on `base`. */
  async commitsBetween(base: string, head: string, branch: string): Promise<BranchCommit[]> {
    const { owner, repo } = this;
    const cmp = await this.read(
      `comparing ${branch} with ${this.consumer.base} in ${this.full}`,
      async () =>
        (await this.client.request('GET /repos/{owner}/{repo}/compare/{basehead}', { owner, repo, basehead: `${base}...${head}` })).data,
    );
    return (cmp.commits ?? []) as BranchCommit[];
  }

  async commentBodies(pull: number): Promise<string[]> {
    const { owner, repo } = this;
    const comments = await this.read(`reading comments of #${pull}`, () =>
      this.client.paginate('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: pull, per_page: 100 }),
    );
    return comments.map((c) => c.body ?? '');
  }

  async comment(pull: number, body: string, what: string): Promise<void> {
    await this.write(what, 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { issue_number: pull, body }, {});
  }

  /**
   * One commit through the git data API on the base head: blob → tree → commit (no author, so GitHub signs an App's
   * commit) → the branch created or moved to it.
   */
  async commitFile(o: {
    text: string;
    title: string;
    message: string;
    base: { sha: string; tree: string };
    branch: string;
    branchHead?: string;
  }) {
    const { path, base: baseName } = this.consumer;
    const blob = await this.write(
      `blob for ${path} (${Buffer.byteLength(o.text)} bytes)`,
      'POST /repos/{owner}/{repo}/git/blobs',
      { content: Buffer.from(o.text, 'utf8').toString('base64'), encoding: 'base64' },
      { sha: '<blob>' },
    );
    const tree = await this.write(
      `tree on ${baseName}'s tree ${o.base.tree} with ${path}`,
      'POST /repos/{owner}/{repo}/git/trees',
      { base_tree: o.base.tree, tree: [{ path, mode: '100644', type: 'blob', sha: blob.sha }] },
      { sha: '<tree>' },
    );
    const commit = await this.write(
      `commit "${o.title}" on ${baseName} ${o.base.sha.slice(0, 7)}`,
      'POST /repos/{owner}/{repo}/git/commits',
      { message: o.message, tree: tree.sha, parents: [o.base.sha] },
      { sha: '<commit>' },
    );
    if (o.branchHead)
      await this.write(
        `move ${o.branch} from ${o.branchHead.slice(0, 7)} to the new commit`,
        `PATCH /repos/{owner}/{repo}/git/refs/heads/${enc(o.branch)}`,
        { sha: commit.sha, force: true },
        {},
      );
    else
      await this.write(
        `create branch ${o.branch}`,
        'POST /repos/{owner}/{repo}/git/refs',
        { ref: `refs/heads/${o.branch}`, sha: commit.sha },
        {},
      );
  }

  async openPull(o: { title: string; branch: string; body: string }): Promise<PullLike> {
    const fake: PullLike = {
      number: 0,
      html_url: `(dry-run) ${this.full}`,
      title: o.title,
      body: o.body,
      state: 'open',
      head: { ref: o.branch, sha: '' },
    };
    return this.write(
      `open pull request "${o.title}" ${o.branch} → ${this.consumer.base}`,
      'POST /repos/{owner}/{repo}/pulls',
      { title: o.title, head: o.branch, base: this.consumer.base, body: o.body },
      fake,
    );
  }

  async editPull(pull: number, o: { title: string; body: string }): Promise<void> {
    await this.write(
      `update title and body of #${pull}`,
      'PATCH /repos/{owner}/{repo}/pulls/{pull_number}',
      { pull_number: pull, ...o },
      {},
    );
  }

  async closePull(pull: number): Promise<void> {
    await this.write(`close #${pull}`, 'PATCH /repos/{owner}/{repo}/pulls/{pull_number}', { pull_number: pull, state: 'closed' }, {});
  }

  async addLabels(pull: number, ref: string, labels: string[]): Promise<void> {
    await this.write(
      `label ${ref} ${labels.join(', ')}`,
      'POST /repos/{owner}/{repo}/issues/{issue_number}/labels',
      { issue_number: pull, labels },
      {},
    );
  }

  async addAssignees(pull: number, ref: string, assignees: string[]): Promise<void> {
    await this.write(
      `assign ${ref} to ${assignees.join(', ')}`,
      'POST /repos/{owner}/{repo}/issues/{issue_number}/assignees',
      { issue_number: pull, assignees },
      {},
    );
  }

  async requestReviewers(pull: number, ref: string, o: { reviewers: string[]; teams: string[]; wanted: string[] }): Promise<void> {
    await this.write(
      `request review of ${ref} from ${o.wanted.join(', ')}`,
      'POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers',
      {
        pull_number: pull,
        ...(o.reviewers.length ? { reviewers: o.reviewers } : {}),
        ...(o.teams.length ? { team_reviewers: o.teams } : {}),
      },
      {},
    );
  }

  /** Deletes a branch of ours; one already gone (422) is the outcome we wanted. */
  async deleteBranch(branch: string): Promise<void> {
    try {
      await this.write(`delete branch ${branch}`, `DELETE /repos/{owner}/{repo}/git/refs/heads/${enc(branch)}`, {}, {});
    } catch (error) {
      if (error instanceof GitHubError && error.status === 422) {
        this.log(`${this.tag} branch ${branch} was already deleted`);
        return;
      }
      throw error;
    }
  }
}
