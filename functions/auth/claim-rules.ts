/**
 * Claim rules for CI federation: a small, side-effect-free expression language over an ID
 * token's claims, e.g. `repository == "org/app" && ref == "refs/heads/main"`.
 *
 *   expr  := and ("||" and)*
 *   and   := term ("&&" term)*
 *   term  := "(" expr ")" | CLAIM ("==" | "!=") STRING
 *
 * CLAIM is a claim name, dotted for nested objects (a.b). STRING is double-quoted, with
 * \" and \\ escapes. A missing or non-scalar claim equals nothing.
 */
export type Claims = Record<string, unknown>;
export type Predicate = (claims: Claims) => boolean;

export class RuleSyntaxError extends Error {}

type Token = { kind: 'claim' | 'string' | 'op'; value: string; at: number };

const TOKEN = /\s*(?:(?<op>==|!=|&&|\|\||\(|\))|(?<claim>[A-Za-z_][A-Za-z0-9_.-]*)|"(?<string>(?:[^"\\]|\\.)*)")/y;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match?.groups) throw new RuleSyntaxError(`unexpected text at position ${at + 1}: ${source.slice(at, at + 20)}`);
    const { op, claim, string } = match.groups;
    if (op !== undefined) tokens.push({ kind: 'op', value: op, at });
    else if (claim !== undefined) tokens.push({ kind: 'claim', value: claim, at });
    else tokens.push({ kind: 'string', value: string!.replace(/\\(.)/g, '$1'), at });
  }
  return tokens;
}

export function compileRule(source: string): Predicate {
  const tokens = tokenize(source);
  let position = 0;
  const peek = () => tokens[position];
  const fail = (expected: string): never => {
    const token = peek();
    throw new RuleSyntaxError(token
      ? `expected ${expected} at position ${token.at + 1}, found ${token.value}`
      : `expected ${expected} at the end of the rule`);
  };

  function expr(): Predicate {
    const parts = [and()];
    while (peek()?.value === '||') { position++; parts.push(and()); }
    return parts.length === 1 ? parts[0]! : (claims) => parts.some((p) => p(claims));
  }
  function and(): Predicate {
    const parts = [term()];
    while (peek()?.value === '&&') { position++; parts.push(term()); }
    return parts.length === 1 ? parts[0]! : (claims) => parts.every((p) => p(claims));
  }
  function term(): Predicate {
    const token = peek();
    if (token?.kind === 'op' && token.value === '(') {
      position++;
      const inner = expr();
      if (peek()?.value !== ')') fail('")"');
      position++;
      return inner;
    }
    if (token?.kind !== 'claim') return fail('a claim name');
    position++;
    const op = peek();
    if (op?.value !== '==' && op?.value !== '!=') return fail('== or !=');
    position++;
    const literal = peek();
    if (literal?.kind !== 'string') return fail('a "quoted string"');
    position++;
    const path = token.value.split('.');
    const equal = (claims: Claims) => scalar(lookup(claims, path)) === literal.value;
    return op.value === '==' ? equal : (claims) => !equal(claims);
  }

  if (tokens.length === 0) throw new RuleSyntaxError('the rule is empty; write e.g. repository == "org/app"');
  const predicate = expr();
  if (position < tokens.length) fail('&&, || or the end of the rule');
  return predicate;
}

function lookup(claims: Claims, path: string[]): unknown {
  let value: unknown = claims;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Claims)[key];
  }
  return value;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}
