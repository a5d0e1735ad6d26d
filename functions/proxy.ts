// Forwards GET requests to an upstream named in env, subject to the function's egress allowlist.
export default {
  async fetch(request, env): Promise<Response> {
    const incoming = new URL(request.url);
    const rest = incoming.pathname;
    const target = new URL(rest + incoming.search, env.UPSTREAM);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5000);
    try {
      const upstream = await fetch(target.href, { headers: { accept: request.headers.get('accept') ?? '*/*' }, signal: controller.signal });
      const headers = new Headers({ 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream', 'x-proxied-from': target.host });
      return new Response(await upstream.arrayBuffer(), { status: upstream.status, headers });
    } catch (err) {
      return Response.json({ error: 'upstream fetch failed', message: (err as Error).message }, { status: 502 });
    } finally {
      clearTimeout(timer);
    }
  },
} satisfies ExportedHandler<ProxyEnv>;
