import { execa } from 'execa';
import { Octokit } from '@octokit/rest';
import { describe, expect, it } from '@jest/globals';

describe('esm deps under jest', () => {
  it('runs execa and constructs octokit', async () => {
    const { stdout } = await execa('echo', ['hi']);
    expect(stdout).toBe('hi');
    expect(typeof new Octokit().rest.pulls.create).toBe('function');
  });
});
