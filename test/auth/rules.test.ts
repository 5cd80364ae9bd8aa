import { describe, expect, it } from 'vitest';
import { compileRule, RuleSyntaxError } from '../../functions/auth/claim-rules';
import { allowedActions, GrantSyntaxError, parseActions, parsePattern, patternMatches } from '../../functions/auth/grants';
import { parseScopes } from '../../functions/auth/scopes';
import { hashSecret, verifySecret } from '../../functions/auth/secret-hash';

describe('repository patterns', () => {
  it.each([
    ['team/*', 'team/app', true],
    ['team/*', 'team/app/api', false],
    ['team/*', 'other/app', false],
    ['team/**', 'team/app/api', true],
    ['team/**', 'team', false],
    ['**', 'anything/at/all', true],
    ['team/**/api', 'team/api', true],
    ['team/**/api', 'team/x/y/api', true],
    ['app-*', 'app-web', true],
    ['a.b', 'axb', false],
  ])('%s matches %s: %s', (pattern, repository, expected) => {
    expect(patternMatches(parsePattern(pattern), repository)).toBe(expected);
  });

  it('refuses malformed patterns and actions with a hint', () => {
    for (const bad of ['Team/*', 'team//app', '/team', 'team/a**', '***', '']) expect(() => parsePattern(bad)).toThrow(GrantSyntaxError);
    expect(() => parseActions('pull,write')).toThrow(/unknown action "write"/);
    expect(parseActions('push, pull,push')).toEqual(['pull', 'push']);
  });

  it('unites the actions of every matching grant', () => {
    const grants = [{ pattern: 'team/*', actions: ['pull' as const] }, { pattern: '**', actions: ['delete' as const] }];
    expect([...allowedActions(grants, 'team/app')].sort()).toEqual(['delete', 'pull']);
  });
});

describe('claim rules', () => {
  const claims = { repository: 'org/app', ref: 'refs/heads/main', run: { attempt: 2 }, quoted: 'say "hi"' };
  it.each([
    ['repository == "org/app" && ref == "refs/heads/main"', true],
    ['repository == "org/app" && ref == "refs/heads/dev"', false],
    ['ref == "refs/heads/dev" || repository == "org/app"', true],
    ['(ref == "x" || ref == "refs/heads/main") && repository != "org/other"', true],
    ['run.attempt == "2"', true],
    ['missing == ""', false],
    ['quoted == "say \\"hi\\""', true],
  ])('%s → %s', (rule, expected) => {
    expect(compileRule(rule)(claims)).toBe(expected);
  });

  it.each(['', 'repository', 'repository = "x"', 'repository == x', '(repository == "x"', 'a == "b" &&', 'a == "b" c'])('refuses %j', (rule) => {
    expect(() => compileRule(rule)).toThrow(RuleSyntaxError);
  });
});

describe('scopes', () => {
  it('merges repeated and space-separated scopes and drops what it cannot parse', () => {
    expect(parseScopes(['repository:a/b:pull', 'repository:a/b:push repository(plugin):c:pull', 'registry:catalog:*', 'bogus', 'x:y:z'])).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'c', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });
});

describe('secret hashing', () => {
  it('salts every hash and verifies only the right secret', async () => {
    const [a, b] = await Promise.all([hashSecret('s3cret'), hashSecret('s3cret')]);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifySecret('s3cret', a)).toBe(true);
    expect(await verifySecret('s3cret!', a)).toBe(false);
    expect(await verifySecret('s3cret', 'garbage')).toBe(false);
  });
});
