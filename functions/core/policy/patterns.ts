/**
 * Repository patterns, shared by grants (auth) and policies (retention, immutability):
 * repository names where `*` matches within one path component and `**` matches any number
 * of components: `team/*`, `team/**`, `**`. Tag patterns are globs over one tag: `*` any
 * run of characters, `?` one character (`v1.*`, `release-?`, `*`).
 */
const REPOSITORY_PATTERN = /^(?:\*\*|[a-z0-9*._-]+)(?:\/(?:\*\*|[a-z0-9*._-]+))*$/;

/** Why `pattern` is not a repository pattern, or undefined when it is one. */
export function repositoryPatternProblem(pattern: string): string | undefined {
  if (pattern.length > 255 || !REPOSITORY_PATTERN.test(pattern) || /[^/*]\*\*|\*\*[^/*]|\*{3}/.test(pattern)) {
    return `"${pattern.slice(0, 300)}" is not a repository pattern: use lower-case name components separated by "/", `
      + 'with * for any one component (team/*) or ** for any depth (team/**, **)';
  }
  return undefined;
}

const compiledRepositories = new Map<string, RegExp>();

export function patternMatches(pattern: string, repository: string): boolean {
  let regex = compiledRepositories.get(pattern);
  if (!regex) {
    const parts = pattern.split('/');
    // "a/**/b" also matches "a/b"; a trailing or lone ** needs at least one component.
    const source = parts.map((part, i) => {
      const last = i === parts.length - 1;
      if (part === '**') return last ? '[^/]+(?:/[^/]+)*' : '(?:[^/]+/)*';
      return part.replace(/\./g, '\\.').replace(/\*/g, '[^/]*') + (last ? '' : '/');
    }).join('');
    regex = new RegExp(`^${source}$`);
    if (compiledRepositories.size > 1000) compiledRepositories.clear();
    compiledRepositories.set(pattern, regex);
  }
  return regex.test(repository);
}

/** Tag globs: the tag grammar's characters plus `*` and `?`. Or a regular expression as `/…/`. */
const TAG_PATTERN = /^[A-Za-z0-9_.*?-]{1,128}$/;

function isRegexPattern(pattern: string): boolean {
  return pattern.length >= 2 && pattern.startsWith('/') && pattern.endsWith('/');
}

export function tagPatternProblem(pattern: string): string | undefined {
  if (isRegexPattern(pattern)) {
    if (pattern.length > 256) return 'a tag regular expression must be at most 256 characters';
    try {
      new RegExp(pattern.slice(1, -1));
      return undefined;
    } catch (error) {
      return `${pattern.slice(0, 140)} is not a valid regular expression: ${(error as Error).message}`;
    }
  }
  if (!TAG_PATTERN.test(pattern)) {
    return `"${pattern.slice(0, 140)}" is not a tag pattern: use tag characters [A-Za-z0-9_.-] with * (any run) and ? (one character), `
      + 'e.g. "v1.*" or "latest", or a regular expression between slashes, e.g. "/^v[0-9]+$/"';
  }
  return undefined;
}

const compiledTags = new Map<string, RegExp>();

/**
 * Whether a tag pattern matches a tag: a glob matches the whole tag, case-sensitive; a
 * `/regex/` is searched in the tag (anchor it with ^…$ to match whole tags).
 */
export function tagMatches(pattern: string, tag: string): boolean {
  let regex = compiledTags.get(pattern);
  if (!regex) {
    const source = isRegexPattern(pattern) ? pattern.slice(1, -1) : pattern.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    regex = new RegExp(isRegexPattern(pattern) ? source : `^${source}$`);
    if (compiledTags.size > 1000) compiledTags.clear();
    compiledTags.set(pattern, regex);
  }
  return regex.test(tag);
}
