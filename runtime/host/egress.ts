import { BlockList, isIP } from 'node:net';

/**
 * The egress policy for guest fetch: default deny; allowlist entries are "host" (any port),
 * "host:port" or "*.domain" (subdomains only). Addresses in loopback, private, link-local, metadata
 * and other internal ranges are refused unless that exact host:port is allowlisted, so "*.example.com"
 * cannot be turned into a path to 169.254.169.254 by a DNS answer.
 */
export class EgressPolicy {
  private readonly exact = new Set<string>();
  private readonly anyPort = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.toLowerCase();
      if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
      else if (/:\d+$/.test(entry)) this.exact.add(entry);
      else this.anyPort.add(entry.replace(/^\[|\]$/g, ''));
    }
  }

  /** Why a URL may not be fetched before any DNS lookup, or undefined when the host is allowlisted. */
  checkUrl(url: URL): string | undefined {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return `fetch to ${url.protocol} URLs is not allowed (only http: and https:)`;
    }
    const host = hostOf(url);
    const port = portOf(url);
    if (this.exact.has(`${formatHost(host)}:${port}`)) return undefined;
    if (this.anyPort.has(host)) return undefined;
    if (this.suffixes.some((s) => host.endsWith(s) && host.length > s.length)) return undefined;
    return `fetch to ${formatHost(host)}:${port} is blocked by the egress policy: add it to "allowedHosts" in the function's config`;
  }

  /** Checks an address the host name resolved to; internal ranges need an exact host:port entry. */
  checkAddress(url: URL, address: string): string | undefined {
    if (!isInternalAddress(address)) return undefined;
    const key = `${formatHost(hostOf(url))}:${portOf(url)}`;
    if (this.exact.has(key)) return undefined;
    return `fetch to ${key} (${address}) is blocked by the egress policy: internal addresses are only reachable when "${key}" is allowlisted exactly`;
  }
}

const internal = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  internal.addSubnet(net, prefix, 'ipv4');
}
// Besides the internal ranges, every IPv6 form that can carry an IPv4 address (compatible, translated,
// NAT64, 6to4, Teredo; BlockList checks mapped ones against the IPv4 rules): a DNS answer could hide
// an internal IPv4 address in one.
for (const [net, prefix] of [
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  internal.addSubnet(net, prefix, 'ipv6');
}

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return internal.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return internal.check(mapped[1]!, 'ipv4');
    return internal.check(address, 'ipv6');
  }
  return true;
}

function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
}

function portOf(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
