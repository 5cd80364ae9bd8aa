import { patternMatches } from '../policy/patterns';

/**
 * Registry events as CloudEvents 1.0 (structured JSON mode): what webhooks receive and what a
 * bus would carry. The type names are stable API; receivers dedupe on `id`, which a retried
 * delivery keeps.
 */
export const EVENT_TYPES = {
  manifestPushed: 'io.nimbus.manifest.pushed',
  manifestDeleted: 'io.nimbus.manifest.deleted',
  tagDeleted: 'io.nimbus.tag.deleted',
  blobDeleted: 'io.nimbus.blob.deleted',
  manifestPulled: 'io.nimbus.manifest.pulled',
  ping: 'io.nimbus.ping',
} as const;

export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** The groups `webhook add --events` subscribes to. */
export type EventGroup = 'push' | 'delete' | 'pull';
export const EVENT_GROUPS: Record<EventGroup, readonly EventType[]> = {
  push: [EVENT_TYPES.manifestPushed],
  delete: [EVENT_TYPES.manifestDeleted, EVENT_TYPES.tagDeleted, EVENT_TYPES.blobDeleted],
  pull: [EVENT_TYPES.manifestPulled],
};

/** Why something was deleted: a client's DELETE, a retention run, or garbage collection (referrers of a deleted subject, unused blob bytes). */
export type DeletionReason = 'request' | 'retention' | 'gc';

export interface EventData {
  repository: string;
  digest: string;
  tag?: string;
  mediaType?: string;
  size?: number;
  /** Who made the change (user, robot, OIDC subject); absent for anonymous callers and background work. */
  actor?: string;
  reason?: DeletionReason;
  /** Pulls (aggregated): how many GETs of the manifest in the window, and when the window began. */
  count?: number;
  since?: string;
}

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: EventType;
  /** The repository, so receivers can filter without parsing data. */
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: EventData;
}

/**
 * The repository of an event about the registry as a whole: blob bytes garbage collection
 * deleted once no repository used them. Only webhooks watching every repository (`**`) get it.
 */
export const REGISTRY_WIDE = '';

/** Whether a webhook's repository pattern covers an event's repository. */
export function watches(pattern: string, repository: string): boolean {
  return repository === REGISTRY_WIDE ? pattern === '**' : patternMatches(pattern, repository);
}

/** The CloudEvents `source` of every Nimbus event. */
export const EVENT_SOURCE = '/nimbus';

export function cloudEvent(type: EventType, data: EventData, at: number, id: string = crypto.randomUUID()): CloudEvent {
  const clean = Object.fromEntries(Object.entries(data).filter(([, value]) => value !== undefined)) as unknown as EventData;
  return {
    specversion: '1.0', id, source: EVENT_SOURCE, type, subject: data.repository,
    time: new Date(at).toISOString(), datacontenttype: 'application/json', data: clean,
  };
}

/** Whether a webhook subscribed to `groups` wants events of `type` (pings go to everyone). */
export function subscribed(groups: readonly EventGroup[], type: EventType): boolean {
  return type === EVENT_TYPES.ping || groups.some((group) => EVENT_GROUPS[group].includes(type));
}

export function isEventGroup(value: string): value is EventGroup {
  return value === 'push' || value === 'delete' || value === 'pull';
}
