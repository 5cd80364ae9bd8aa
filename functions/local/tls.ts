import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { RunningServer, TlsMaterial } from '../adapters/node-http/server';
import type { Logger } from '../core/index';
import type { LocalSettings } from './settings';

type TlsFiles = NonNullable<LocalSettings['tls']>;

/** Reads NIMBUS_TLS_CERT and NIMBUS_TLS_KEY, and checks they make a usable pair. */
export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([
    readFile(files.certFile).catch((error: unknown) => unreadable('NIMBUS_TLS_CERT', files.certFile, error)),
    readFile(files.keyFile).catch((error: unknown) => unreadable('NIMBUS_TLS_KEY', files.keyFile, error)),
  ]);
  try {
    // Builds the context as the server will: a key that does not match the certificate, or a file that is not PEM, throws here.
    createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  } catch (error) {
    throw new Error(`NIMBUS_TLS_CERT (${files.certFile}) and NIMBUS_TLS_KEY (${files.keyFile}) are not a usable certificate and key: ${(error as Error).message}`);
  }
  return { cert, key };
}

function unreadable(setting: string, file: string, error: unknown): never {
  throw new Error(`${setting}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
}

/**
 * On SIGHUP, reads the certificate and key again and serves them to new connections, so a
 * certificate rotates without a restart. A pair that cannot be used is logged and the
 * server keeps the one it has.
 */
export function reloadTlsOnSighup(server: RunningServer, files: TlsFiles, logger: Logger): () => void {
  const reload = () => {
    void readTlsFiles(files).then(
      (material) => {
        server.reloadTls(material);
        logger.log('info', 'tls certificate reloaded', { cert: files.certFile });
      },
      (error: unknown) => logger.log('error', 'tls reload failed: still serving the previous certificate', { error: (error as Error).message }),
    );
  };
  process.on('SIGHUP', reload);
  return () => process.off('SIGHUP', reload);
}
