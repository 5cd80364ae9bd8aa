import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Webhook, WebhookSecrets, WebhookStore } from '../../core/events/ports';
import { readJson, removeFile, writeFileAtomic } from './atomic';
import { listDir } from './files';

/**
 * Webhooks on disk: meta/webhooks/<id>.json (what `webhook list` shows) and their secret and
 * header values in meta/secrets/webhooks/<id>.json (mode 0600 in a 0700 directory, as the
 * registry's other secrets). A webhook is visible once both are written.
 */
export class FsWebhookStore implements WebhookStore {
  private readonly dir: string;
  private readonly secretDir: string;
  private readonly tmp: string;
  private cache: Promise<Webhook[]> | undefined;

  constructor(root: string, private readonly options: { fsync?: boolean } = {}) {
    this.dir = join(root, 'meta', 'webhooks');
    this.secretDir = join(root, 'meta', 'secrets', 'webhooks');
    this.tmp = join(root, 'tmp');
  }

  list(): Promise<Webhook[]> {
    this.cache ??= (async () => {
      const files = (await listDir(this.dir)).filter((file) => file.endsWith('.json'));
      const hooks = await Promise.all(files.map((file) => readJson<Webhook>(join(this.dir, file))));
      return hooks.filter((hook): hook is Webhook => hook !== undefined).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    })();
    const listed = this.cache;
    listed.catch(() => {
      if (this.cache === listed) this.cache = undefined;
    });
    return listed;
  }

  async add(webhook: Webhook, secrets: WebhookSecrets): Promise<void> {
    const durable = { fsync: this.options.fsync ?? true };
    await mkdir(this.secretDir, { recursive: true, mode: 0o700 });
    await mkdir(this.tmp, { recursive: true });
    await writeFileAtomic(this.tmp, join(this.secretDir, `${webhook.id}.json`), JSON.stringify(secrets), durable);
    await writeFileAtomic(this.tmp, join(this.dir, `${webhook.id}.json`), JSON.stringify(webhook), durable);
    this.cache = undefined;
  }

  async remove(id: string): Promise<boolean> {
    const durable = { fsync: this.options.fsync ?? true };
    const removed = await removeFile(join(this.dir, `${id}.json`), durable);
    await removeFile(join(this.secretDir, `${id}.json`), durable);
    this.cache = undefined;
    return removed;
  }

  async secrets(id: string): Promise<WebhookSecrets | undefined> {
    return readJson<WebhookSecrets>(join(this.secretDir, `${id}.json`));
  }
}
