// Injected failures: 5xx, primary rate limit (403 + x-ratelimit-remaining: 0) and secondary rate limit (403 + retry-after).
export interface FaultRule {
  method?: string;
  path?: RegExp | string;
  status: number;
  times?: number;
  rateLimit?: 'primary' | 'secondary';
}
export interface FaultReply {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

export class Faults {
  private rules: Array<FaultRule & { left: number }> = [];

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }
  clear(): void {
    this.rules = [];
  }

  /**
   * Consumes the first matching rule. `paths` holds the decoded and the raw request path; `template` lets a test name
   * a route as '/repos/{owner}/{repo}/pulls'.
   */
  take(method: string, paths: string[], template: string | undefined): FaultReply | undefined {
    const matches = (r: FaultRule) => {
      if (!r.path) return true;
      const pattern = r.path;
      if (typeof pattern === 'string') return pattern === template || paths.includes(pattern);
      return paths.some((p) => {
        pattern.lastIndex = 0;
        return pattern.test(p);
      });
    };
    const rule = this.rules.find((r) => r.left > 0 && (!r.method || r.method.toUpperCase() === method) && matches(r));
    if (!rule) return undefined;
    rule.left--;
    const nowSec = Math.floor(Date.now() / 1000);
    if (rule.rateLimit === 'primary') {
      return {
        status: rule.status,
        headers: {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-used': '5000',
          'x-ratelimit-reset': String(nowSec + 1),
          'x-ratelimit-resource': 'core',
        },
        body: {
          message: 'API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
        },
      };
    }
    if (rule.rateLimit === 'secondary') {
      return {
        status: rule.status,
        headers: { 'retry-after': '1' },
        body: {
          message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        },
      };
    }
    return { status: rule.status, headers: {}, body: { message: rule.status >= 500 ? 'Server Error' : 'Injected failure' } };
  }
}
