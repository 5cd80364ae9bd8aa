import { CliError } from './errors';

/** Everything on stdin, minus one trailing newline (as `echo` and heredocs add). */
export async function readStdin(what: string, option = '--password-stdin', variable = 'PASSWORD'): Promise<string> {
  if (process.stdin.isTTY) throw new CliError(`${option} reads the ${what} from a pipe: echo "$${variable}" | npx nimbus ...`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const value = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!value) throw new CliError(`no ${what} on stdin`);
  return value;
}

/** Asks for a secret on the terminal without echoing it. */
export async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new CliError('no terminal to ask for the password on: pipe it in with --password-stdin');
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    let value = '';
    for await (const chunk of stdin) {
      for (const char of (chunk as Buffer).toString('utf8')) {
        if (char === '\r' || char === '\n') return value;
        if (char === '\u0003') throw new CliError('cancelled');
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    }
    return value;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

/** A password from --password-stdin, or asked for twice on a terminal. */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  const password = fromStdin ? await readStdin('password') : await promptHidden('Password: ');
  if (!fromStdin && (await promptHidden('Repeat password: ')) !== password) throw new CliError('the passwords do not match');
  if (password.length < 8) throw new CliError('use a password of at least 8 characters');
  return password;
}

/** Prints rows as aligned columns under a header. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}
