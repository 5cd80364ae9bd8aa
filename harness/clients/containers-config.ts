import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Private configuration for containers/image tools (skopeo, podman), so nothing from
 * /etc/containers or the user's home changes what a test does.
 */
export interface ContainersConfig {
  policyPath: string;
  /** Environment that points the tools at this configuration. */
  env: Record<string, string>;
}

export async function writeContainersConfig(dir: string): Promise<ContainersConfig> {
  const home = join(dir, 'home');
  const runtime = join(dir, 'xdg-runtime');
  await Promise.all([mkdir(home, { recursive: true }), mkdir(runtime, { recursive: true, mode: 0o700 })]);
  const policyPath = join(dir, 'policy.json');
  const registriesPath = join(dir, 'registries.conf');
  const authPath = join(dir, 'auth.json');
  const containersConfPath = join(dir, 'containers.conf');
  await Promise.all([
    writeFile(policyPath, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] })),
    // Every reference a test uses is fully qualified; never guess a registry.
    writeFile(registriesPath, 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n'),
    writeFile(authPath, JSON.stringify({ auths: {} })),
    // No systemd here: events go to a file, cgroups are managed directly.
    writeFile(containersConfPath, '[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'),
  ]);
  return {
    policyPath,
    env: {
      HOME: home,
      XDG_RUNTIME_DIR: runtime,
      XDG_CONFIG_HOME: join(home, '.config'),
      CONTAINERS_REGISTRIES_CONF: registriesPath,
      CONTAINERS_CONF: containersConfPath,
      REGISTRY_AUTH_FILE: authPath,
      TMPDIR: dir,
    },
  };
}
