// A KV counter: every request increments a per-path count stored in the COUNTER namespace.
// CounterEnv (faas-env.d.ts) is written by `faas types functions` from counter.faas.json.
export default {
  async fetch(request, env): Promise<Response> {
    const url = new URL(request.url);
    const key = `hits:${url.pathname}`;
    if (url.searchParams.has('all')) {
      const { keys } = await env.COUNTER.list({ prefix: 'hits:' });
      const counts: Record<string, number> = {};
      for (const k of keys) counts[k.name.slice(5)] = Number(await env.COUNTER.get(k.name));
      return Response.json(counts);
    }
    const count = Number((await env.COUNTER.get(key)) ?? 0) + 1;
    await env.COUNTER.put(key, String(count), { metadata: { updatedAt: new Date().toISOString() } });
    return Response.json({ path: key.slice(5), count });
  },
} satisfies ExportedHandler<CounterEnv>;
