import { parseArgs } from 'node:util';
import type { Section } from './section';

export interface BenchOptions {
  help: boolean;
  only: string[];
  runs: number;
  readme: boolean;
  out: string;
}

export const DEFAULT_RUNS = 5;

export function parseOptions(argv: string[], sections: readonly Section[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      readme: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results' },
    },
    strict: true,
    allowPositionals: false,
  });
  const ids = sections.map((section) => section.id);
  const only = values.only ? values.only.split(',').map((id) => id.trim()).filter(Boolean) : ids;
  const unknown = only.filter((id) => !ids.includes(id));
  if (unknown.length) throw new Error(`unknown section ${unknown.join(', ')}; sections are ${ids.join(', ')}`);
  const runs = values.runs === undefined ? DEFAULT_RUNS : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new Error(`--runs must be an integer from 1 to 100, not "${values.runs}"`);
  return { help: values.help ?? false, only, runs, readme: values.readme ?? false, out: values.out ?? 'bench/results' };
}

export function helpText(sections: readonly Section[]): string {
  const width = Math.max(...sections.map((section) => section.id.length)) + 2;
  return [
    'Usage: npm run bench [-- options]',
    '',
    'Measures Nimbus on this machine, side by side with registry:2 (CNCF distribution 2.8.2,',
    'Debian\'s docker-registry) and with the physical floor, in the same run. Reports medians,',
    'min–max and ratios: single absolute times on a noisy machine mean little.',
    '',
    'Options:',
    `  --only=ID[,ID...]   run only these sections (default: all, in the order below)`,
    `  --runs=N            repetitions per measurement (default ${DEFAULT_RUNS}; registries interleave A B A B)`,
    '  --readme            also write the figures into README.md (between the bench markers)',
    '  --out=DIR           where results go (default bench/results, gitignored)',
    '  -h, --help          this text',
    '',
    'Sections:',
    ...sections.map((section) => `  ${section.id.padEnd(width)}${section.summary}`),
    '',
    'A section whose tools are missing is reported "not available: <reason>" and the rest run on.',
    'Tools: skopeo, docker-registry, docker.io (dockerd), util-linux (unshare), a Java 17+ runtime',
    '(DynamoDB Local) and tools/emulators (fauxqs, installed by npm ci). bash bench/setup.sh installs',
    'the Debian packages.',
    '',
    'Output: bench/results/<date>.{md,json} and latest.{md,json}, and a printed summary.',
    'Examples: npm run bench -- --only=push,listing --runs=3',
    '          npm run bench -- --readme',
  ].join('\n');
}
