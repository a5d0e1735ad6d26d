/**
 * Routing by host and path: the routes functions claim in their config (`api.example.com/*`,
 * `example.com/blog/*`, `*.example.com/*`), matched against a request's Host header and path. The
 * most specific claim wins: an exact host before a wildcard one (a longer wildcard suffix before a
 * shorter), then an exact path before a prefix, then the longer prefix.
 */

export interface ParsedRoute {
  /** As claimed (host lowercased). */
  pattern: string;
  /** Without "*." for a wildcard host. */
  host: string;
  wildcardHost: boolean;
  /** Without the trailing "*" for a prefix path. */
  path: string;
  prefix: boolean;
}

export function parseRoute(pattern: string): ParsedRoute {
  const slash = pattern.indexOf('/');
  const hostPart = pattern.slice(0, slash);
  const pathPart = pattern.slice(slash);
  const wildcardHost = hostPart.startsWith('*.');
  const prefix = pathPart.endsWith('*');
  return {
    pattern,
    host: wildcardHost ? hostPart.slice(2) : hostPart,
    wildcardHost,
    path: prefix ? pathPart.slice(0, -1) : pathPart,
    prefix,
  };
}

/** Whether some request could match both routes (same host or one wildcard covering the other, and overlapping paths). */
export function routesOverlap(a: ParsedRoute, b: ParsedRoute): boolean {
  const hosts =
    (a.host === b.host && a.wildcardHost === b.wildcardHost) ||
    (a.wildcardHost && b.host.endsWith(`.${a.host}`)) ||
    (b.wildcardHost && a.host.endsWith(`.${b.host}`));
  if (!hosts) return false;
  if (a.prefix && b.prefix) return a.path.startsWith(b.path) || b.path.startsWith(a.path);
  if (a.prefix) return b.path.startsWith(a.path);
  if (b.prefix) return a.path.startsWith(b.path);
  return a.path === b.path;
}

export interface RouteOwner {
  name: string;
  tenant: string;
  config: { routes?: readonly string[] };
}

/**
 * Why `name` (of `tenant`) may not claim `routes`, or undefined. The same route may not be claimed
 * twice; a route that overlaps one of another tenant's functions is refused too, so a tenant can
 * never take requests meant for another tenant's domain or path. (Within one tenant, overlapping
 * claims are allowed: the most specific wins.)
 */
export function claimConflicts(name: string, tenant: string, routes: readonly string[], live: readonly RouteOwner[]): string | undefined {
  const mine = routes.map(parseRoute);
  for (let i = 0; i < mine.length; i++) {
    for (let j = 0; j < i; j++) if (mine[i]!.pattern === mine[j]!.pattern) return `route "${mine[i]!.pattern}" is listed twice`;
  }
  for (const other of live) {
    if (other.name === name) continue;
    for (const theirs of (other.config.routes ?? []).map(parseRoute)) {
      for (const r of mine) {
        if (r.pattern === theirs.pattern) return `route "${r.pattern}" is already claimed by another function`;
        if (other.tenant !== tenant && routesOverlap(r, theirs)) return `route "${r.pattern}" overlaps a route claimed by another tenant`;
      }
    }
  }
  return undefined;
}

interface Entry extends ParsedRoute {
  function: string;
}

/** The claimed routes of the live functions, for matching requests: rebuilt whenever the set changes. */
export class RouteTable {
  /** Exact hosts. */
  private readonly exact = new Map<string, Entry[]>();
  /** Wildcard hosts, by the host they are subdomains of. */
  private readonly wildcards = new Map<string, Entry[]>();
  readonly size: number;
  /** Names of the functions that claim routes. */
  readonly owners: string[] = [];

  constructor(functions: readonly { name: string; config: { routes?: readonly string[] } }[]) {
    let size = 0;
    for (const fn of functions) {
      if ((fn.config.routes ?? []).length > 0) this.owners.push(fn.name);
      for (const pattern of fn.config.routes ?? []) {
        const r = { ...parseRoute(pattern), function: fn.name };
        const map = r.wildcardHost ? this.wildcards : this.exact;
        const list = map.get(r.host) ?? [];
        list.push(r);
        map.set(r.host, list);
        size++;
      }
    }
    for (const list of [...this.exact.values(), ...this.wildcards.values()]) list.sort(bySpecificity);
    this.size = size;
  }

  /** The function a request to `host` (Host header, any port) and `path` goes to, if any claims it. */
  match(hostHeader: string | undefined, path: string): string | undefined {
    if (this.size === 0 || !hostHeader) return undefined;
    const host = hostname(hostHeader);
    const exact = this.exact.get(host);
    const hit = exact && first(exact, path);
    if (hit) return hit;
    // Each suffix after a dot, longest first: a few map lookups, however many wildcards are claimed.
    for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
      const wild = this.wildcards.get(host.slice(dot + 1));
      const h = wild && first(wild, path);
      if (h) return h;
    }
    return undefined;
  }
}

function first(entries: Entry[], path: string): string | undefined {
  for (const e of entries) if (e.prefix ? path.startsWith(e.path) : path === e.path) return e.function;
  return undefined;
}

/** Exact paths first, then prefixes, longest first. */
function bySpecificity(a: Entry, b: Entry): number {
  if (a.prefix !== b.prefix) return a.prefix ? 1 : -1;
  return b.path.length - a.path.length;
}

/** The Host header without its port (and without the brackets of an IPv6 literal), lowercased. */
function hostname(header: string): string {
  let h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}
